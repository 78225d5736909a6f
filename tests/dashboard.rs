//! The web dashboard (`GET /`), tested as a person uses it: the real binary, a real
//! headless Chromium driven through Debian's chromedriver, real candles. Logs in through
//! the form, starts a session and feeds it candles, visits every view, checks each one
//! shows its data with no console errors, and takes a screenshot of each (under
//! `dashboard/` under `CARGO_TARGET_TMPDIR`). A viewer's key sees no trading controls.
//!
//! The cookie rules (HttpOnly, SameSite=Strict, writes need the `X-TradPal-UI` header),
//! the assets and the event stream are checked over plain HTTP first.
// Test code: deadlines against real processes.
#![allow(clippy::disallowed_methods)]

mod common;

use common::webdriver::{Browser, Driver};
use common::{btc_minutes, client, send, Server, ADMIN_KEY, TRADER_KEY, VIEWER_KEY};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Duration;

const VIEW_WAIT: Duration = Duration::from_secs(30);

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).timeout(Duration::from_secs(30)).build().unwrap()
}

/// Logs in through the form endpoint; returns the cookie pair (`tradpal_ui=...`).
async fn login_cookie(server: &Server, key: &str) -> String {
    let resp = no_redirects().post(server.url("/ui/login")).form(&[("key", key)]).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 303, "a good key logs in");
    let set = resp.headers().get("set-cookie").expect("a session cookie").to_str().unwrap().to_string();
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set.contains(attr), "the cookie is {attr}: {set}");
    }
    set.split(';').next().unwrap().to_string()
}

async fn post_candles(server: &Server, candles: &[Value]) {
    post_symbol(server, "BTC/USDT", candles).await
}

async fn post_symbol(server: &Server, symbol: &str, candles: &[Value]) {
    let body = json!({"symbol": symbol, "timeframe": "1m", "candles": candles});
    let (status, reply) = send(client().post(server.url("/api/data/candles")).bearer_auth(TRADER_KEY).json(&body)).await;
    assert_eq!(status, 200, "{reply}");
}

#[tokio::test]
async fn page_assets_cookies_and_event_stream() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &[]);
    let http = no_redirects();

    // The page and its assets come from the binary, with a strict CSP and no CDN.
    let page = http.get(server.url("/")).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let csp = page.headers().get("content-security-policy").unwrap().to_str().unwrap().to_string();
    assert!(csp.contains("default-src 'self'") && csp.contains("script-src 'self'"), "{csp}");
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"action="/ui/login""#) && !html.contains("{{LOGIN_ERROR}}"), "{html}");
    assert!(!html.contains("http://") && !html.contains("https://"), "no external URL in the page");
    for (asset, needle) in [("app.js", "EventSource"), ("charts.js", "Lightweight Charts"), ("app.css", "--bg")] {
        let r = http.get(server.url(&format!("/ui/assets/{asset}"))).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 200, "{asset}");
        assert!(r.text().await.unwrap().contains(needle), "{asset} is the real file");
    }
    let (status, body) = send(http.get(server.url("/ui/assets/../Cargo.toml"))).await;
    assert_eq!(status, 404, "{body}");

    // A wrong key: 401 with the form again, the key not echoed.
    let bad = "not-a-key-but-long-enough-0000";
    let r = http.post(server.url("/ui/login")).form(&[("key", bad)]).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert!(r.headers().get("set-cookie").is_none());
    let text = r.text().await.unwrap();
    assert!(text.contains("That API key is not valid") && !text.contains("not-a-key"), "{text}");

    // The cookie stands for the key's role.
    let viewer = login_cookie(&server, VIEWER_KEY).await;
    let (status, me) = send(http.get(server.url("/ui/me")).header("cookie", &viewer)).await;
    assert_eq!((status, me["role"].as_str(), me["via"].as_str()), (200, Some("viewer"), Some("cookie")), "{me}");
    let (status, _) = send(http.get(server.url("/api/trading/status")).header("cookie", &viewer)).await;
    assert_eq!(status, 200);
    let start = json!({"symbol": "BTC/USDT", "capital": 1000, "strategy": "sma_cross", "risk_per_trade": 0.02});
    let (status, body) =
        send(http.post(server.url("/api/trading/start-session")).header("cookie", &viewer).header("x-tradpal-ui", "1").json(&start)).await;
    assert_eq!(status, 403, "a viewer's cookie cannot trade: {body}");

    // A trader's cookie writes only with the X-TradPal-UI header (no cross-site form can send it).
    let trader = login_cookie(&server, TRADER_KEY).await;
    let (status, body) = send(http.post(server.url("/api/trading/start-session")).header("cookie", &trader).json(&start)).await;
    assert_eq!(status, 403, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("X-TradPal-UI"), "{body}");
    let (status, body) =
        send(http.post(server.url("/api/trading/start-session")).header("cookie", &trader).header("x-tradpal-ui", "1").json(&start)).await;
    assert_eq!(status, 201, "{body}");

    // Logging out ends the session server-side, not only in the browser.
    let r = http.post(server.url("/ui/logout")).header("cookie", &trader).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 303);
    assert!(r.headers().get("set-cookie").unwrap().to_str().unwrap().contains("Max-Age=0"));
    let (status, me) = send(http.get(server.url("/ui/me")).header("cookie", &trader)).await;
    assert_eq!((status, &me["role"]), (200, &Value::Null), "logged out: {me}");
    let (status, body) = send(http.get(server.url("/api/trading/status")).header("cookie", &trader)).await;
    assert_eq!(status, 401, "{body}");
    let (status, body) = send(http.get(server.url("/api/trading/status")).header("cookie", "tradpal_ui=forged")).await;
    assert_eq!(status, 401, "{body}");
    let (status, body) = send(http.get(server.url("/ui/me")).bearer_auth("wrong-key-0123456789")).await;
    assert_eq!(status, 401, "a wrong key in a header is refused: {body}");

    // The event stream: a journaled candle batch arrives as a `candles_ingested` event.
    let mut stream = client().get(server.url("/api/events/stream")).bearer_auth(VIEWER_KEY).send().await.unwrap();
    assert_eq!(stream.status().as_u16(), 200);
    assert!(stream.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    post_candles(&server, &btc_minutes(5)).await;
    let mut seen = String::new();
    let got = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(chunk) = stream.chunk().await.unwrap() {
            seen.push_str(&String::from_utf8_lossy(&chunk));
            if seen.contains("event: candles_ingested") {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(got, Ok(true), "stream so far:\n{seen}");
    assert!(seen.contains("event: hello") && seen.contains(r#""symbol":"BTC/USDT""#), "{seen}");
    let (status, _) = send(client().get(server.url("/api/events/stream"))).await;
    assert_eq!(status, 401, "the stream needs a credential");
}

fn shots_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Every form field has a label and every button and link a name, so a screen reader
/// and keyboard users can use the view.
const UNNAMED_CONTROLS: &str = r#"
const bad = [];
for (const e of document.querySelectorAll('input, select, textarea')) {
  if (e.type === 'hidden') continue;
  const labelled = (e.id && document.querySelector(`label[for="${e.id}"]`)) || e.getAttribute('aria-label');
  if (!labelled) bad.push(e.outerHTML.slice(0, 80));
}
for (const e of document.querySelectorAll('button, a[href]')) {
  if (!(e.innerText || e.getAttribute('aria-label') || '').trim() && e.offsetParent !== null) bad.push(e.outerHTML.slice(0, 80));
}
return bad;"#;

/// Console entries at SEVERE level (JavaScript errors, failed loads) since the last look,
/// and the view's controls all named.
async fn assert_no_console_errors(b: &Browser, view: &str) {
    let unnamed = b.eval(UNNAMED_CONTROLS, json!([])).await;
    assert_eq!(unnamed, json!([]), "controls without a label or name on {view}");
    let errors: Vec<Value> = b.console().await.into_iter().filter(|e| e["level"] == "SEVERE").collect();
    assert!(errors.is_empty(), "console errors on {view}: {errors:#?}");
}

async fn open_view(b: &Browser, base: &str, hash: &str, view: &str) {
    // Marked not ready first, so the wait below cannot see the previous view's state.
    b.eval("document.querySelector('main').dataset.ready = 'false'", json!([])).await;
    b.goto(&format!("{base}/{hash}")).await;
    let done = format!(
        "return document.querySelector('main').dataset.view === '{view}' && document.querySelector('main').dataset.ready === 'true'"
    );
    b.wait_until(&format!("the {view} view"), &done, VIEW_WAIT).await;
}

async fn log_in(b: &Browser, base: &str, key: &str) {
    b.goto(&format!("{base}/")).await;
    b.type_into("#key", key).await;
    b.click("#login button[type=submit]").await;
    b.wait_until("the overview after login", "return document.querySelector('main').dataset.ready === 'true'", VIEW_WAIT).await;
    let cookie_visible = b.eval("return document.cookie", json!([])).await;
    assert_eq!(cookie_visible, "", "the session cookie is HttpOnly: scripts cannot read it");
}

async fn text_of(b: &Browser, css: &str) -> String {
    b.eval("const e = document.querySelector(arguments[0]); return e ? e.innerText : ''", json!([css]))
        .await
        .as_str()
        .unwrap_or("")
        .to_string()
}

async fn count(b: &Browser, css: &str) -> u64 {
    b.eval("return document.querySelectorAll(arguments[0]).length", json!([css])).await.as_u64().unwrap()
}

#[tokio::test]
async fn every_view_renders_in_a_real_browser_and_a_viewer_sees_no_controls() {
    let driver = Driver::start().expect("chromedriver is not installed: apt-get install chromium chromium-driver (scripts/test.sh does)");
    driver.ready().await;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &[]);
    let base = server.base.clone();
    let shots = shots_dir();
    let minutes = btc_minutes(700);
    post_candles(&server, &minutes[..200]).await;

    // A trader logs in through the form and starts a session from the overview.
    let b = driver.session(&dir.path().join("profile-trader"), 1366, 900).await;
    log_in(&b, &base, TRADER_KEY).await;
    b.wait_for("#start-session-form", VIEW_WAIT).await;
    // Keyboard: the first Tab stop is the skip link, and every view is a link in the nav.
    b.eval("document.activeElement.blur(); document.body.focus()", json!([])).await;
    b.keys("\u{E004}").await;
    assert_eq!(b.eval("return document.activeElement.className", json!([])).await, "skip", "the first Tab stop");
    assert_eq!(count(&b, "#nav a[href]").await, 4, "every view is reachable by a link");
    b.type_into("#ss-params", "fast=5, slow=15").await;
    b.type_into("#ss-capital", "1000").await;
    b.click("#start-session-form button[type=submit]").await;
    b.wait_until("the session in the table", "return document.querySelectorAll('#sessions tbody tr').length === 1", VIEW_WAIT).await;
    assert_no_console_errors(&b, "overview").await;

    // Candles arrive; the session trades; the open page follows over server-sent events.
    for chunk in minutes[200..].chunks(100) {
        post_candles(&server, chunk).await;
    }
    b.wait_until(
        "the session's trades on the overview (live update)",
        "const c = document.querySelectorAll('#sessions tbody tr td'); return c.length > 6 && Number(c[6].innerText) > 0",
        VIEW_WAIT,
    )
    .await;
    assert_eq!(text_of(&b, "#live").await, "live");
    b.screenshot(&shots.join("overview.png")).await;

    // The session: price with trades and regime, equity and drawdown, trades and controls.
    b.click("#sessions tbody a").await;
    b.wait_until(
        "the session view",
        "return document.querySelector('main').dataset.view === 'session' && document.querySelector('main').dataset.ready === 'true'",
        VIEW_WAIT,
    )
    .await;
    assert!(count(&b, "#session-chart canvas").await > 0, "a price chart");
    assert!(count(&b, "#session-equity canvas").await > 0, "equity and drawdown charts");
    assert!(count(&b, "#session-orders table[aria-label=Trades] tbody tr").await > 0, "trades listed");
    assert!(count(&b, "#stop-session").await == 1, "a trader can stop the session");
    assert_no_console_errors(&b, "session").await;
    b.screenshot(&shots.join("session.png")).await;

    // Backtests: run two from the form, see the report, compare them.
    for params in ["fast=5, slow=15", "fast=10, slow=30"] {
        open_view(&b, &base, "#/backtests", "backtests").await;
        b.type_into("#bt-params", params).await;
        b.click("#backtest-form button[type=submit]").await;
        b.wait_for("#report-metrics", VIEW_WAIT).await;
    }
    assert!(count(&b, "#report canvas").await > 0, "the report's equity chart");
    assert!(count(&b, "#report table.heat").await == 1, "the monthly heat map");
    assert!(text_of(&b, "#report").await.contains("total return"));
    b.click("#compare button").await;
    b.wait_for("#compare table[aria-label=Comparison]", VIEW_WAIT).await;
    assert!(text_of(&b, "#compare").await.contains("fast=10"), "both runs compared");
    assert_no_console_errors(&b, "backtests").await;
    b.screenshot(&shots.join("backtests.png")).await;

    // Models and agents: empty states first, then a trained model and an agent in training.
    open_view(&b, &base, "#/models", "models").await;
    assert!(text_of(&b, "#ml-models").await.contains("No models yet"));
    assert!(text_of(&b, "#rl-agents").await.contains("No agents yet"));
    post_symbol(&server, "ETH/USDT", &btc_minutes(3000)).await;
    let train = json!({"symbol": "ETH/USDT", "timeframe": "1m", "model_type": "logistic"});
    let (status, model) = send(client().post(server.url("/api/ml/train")).bearer_auth(TRADER_KEY).json(&train)).await;
    assert_eq!(status, 202, "{model}");
    let agent = json!({"symbol": "ETH/USDT", "timeframe": "1m", "algorithm": "ppo", "episodes": 1});
    let (status, body) = send(client().post(server.url("/api/rl/train")).bearer_auth(TRADER_KEY).json(&agent)).await;
    assert_eq!(status, 202, "{body}");
    b.wait_until(
        "the trained model (live update)",
        "return /ready/.test(document.querySelector('#ml-models').innerText)",
        Duration::from_secs(90),
    )
    .await;
    b.wait_for("#rl-agents tbody tr", VIEW_WAIT).await;
    b.click("#ml-models tbody button").await;
    b.wait_for("#ml-models table[aria-label='Feature importance'] tbody tr", VIEW_WAIT).await;
    assert!(text_of(&b, "#ml-models").await.contains("rsi_14"), "the model's features are listed");
    assert_no_console_errors(&b, "models").await;
    b.screenshot(&shots.join("models.png")).await;

    // Market data: the stored series, candles with indicators, gaps.
    open_view(&b, &base, "#/market", "market").await;
    assert!(text_of(&b, "#series").await.contains("BTC/USDT"));
    assert!(count(&b, "#market-chart canvas").await > 0, "a candle chart");
    assert!(text_of(&b, "#gaps").await.contains("bars shown"), "gaps are reported");
    assert_no_console_errors(&b, "market").await;
    b.screenshot(&shots.join("market.png")).await;
    b.quit().await;

    // An admin halts trading through the confirmation dialog, then resumes.
    let a = driver.session(&dir.path().join("profile-admin"), 1366, 900).await;
    log_in(&a, &base, ADMIN_KEY).await;
    a.click("#kill-switch button[data-state=halted]").await;
    a.wait_until("the confirmation dialog", "return document.querySelector('#confirm').open", VIEW_WAIT).await;
    a.click("#confirm-ok").await;
    a.wait_until("trading halted", "const s = document.querySelector('#trading-state'); return s && s.innerText === 'halted'", VIEW_WAIT)
        .await;
    let (_, st) = send(client().get(server.url("/api/execution/trading-state")).bearer_auth(VIEWER_KEY)).await;
    assert_eq!(st["trading_state"], "halted", "{st}");
    a.click("#kill-switch button[data-state=active]").await;
    a.click("#confirm-ok").await;
    a.wait_until("trading active", "const s = document.querySelector('#trading-state'); return s && s.innerText === 'active'", VIEW_WAIT)
        .await;
    // Both moves are alerts (GET /api/alerts), listed newest first on the overview.
    a.wait_until(
        "the kill-switch alerts listed",
        "const rows = [...document.querySelectorAll('#alerts tbody tr')].map(r => r.innerText); \
         return rows.length >= 2 && rows[0].includes('kill switch') && rows[0].includes('halted -> active') && rows[1].includes('active -> halted')",
        VIEW_WAIT,
    )
    .await;
    assert_no_console_errors(&a, "overview (admin)").await;
    a.quit().await;

    // A viewer sees the data but no trading control anywhere, on a tablet-sized window.
    let v = driver.session(&dir.path().join("profile-viewer"), 768, 1024).await;
    log_in(&v, &base, VIEWER_KEY).await;
    v.wait_until("the session row", "return document.querySelectorAll('#sessions tbody tr').length === 1", VIEW_WAIT).await;
    assert_eq!(count(&v, ".trade-control").await, 0, "no controls on the overview");
    assert_eq!(count(&v, "#start-session-form, #flatten").await, 0);
    v.screenshot(&shots.join("overview-viewer-tablet.png")).await;
    v.click("#sessions tbody a").await;
    v.wait_until(
        "the session view",
        "return document.querySelector('main').dataset.ready === 'true' && document.querySelector('main').dataset.view === 'session'",
        VIEW_WAIT,
    )
    .await;
    assert_eq!(count(&v, ".trade-control, #stop-session, #emergency-stop").await, 0, "no controls on a session");
    open_view(&v, &base, "#/backtests", "backtests").await;
    assert_eq!(count(&v, "#backtest-form").await, 0, "no run form for a viewer");
    assert_no_console_errors(&v, "viewer views").await;
    v.quit().await;
}
