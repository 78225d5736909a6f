//! A small W3C WebDriver client over reqwest, driving Debian's `chromedriver` and a
//! real headless Chromium (the dashboard test). Only the handful of commands the test
//! needs: navigate, find, click, type, run a script, screenshot, and the browser log.
#![allow(dead_code)]

use base64::Engine;
use serde_json::{json, Value};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The W3C element reference key.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A running chromedriver; killed on drop.
pub struct Driver {
    child: Child,
    pub base: String,
}

impl Driver {
    /// Starts `chromedriver` on a free port; `None` when it is not installed (the test
    /// command installs it; a developer without it is told so by the test).
    pub fn start() -> Option<Driver> {
        let port = std::net::TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok()?.port();
        let child = Command::new("chromedriver").arg(format!("--port={port}")).stdout(Stdio::null()).stderr(Stdio::null()).spawn().ok()?;
        Some(Driver { child, base: format!("http://127.0.0.1:{port}") })
    }

    pub async fn ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = reqwest::get(format!("{}/status", self.base)).await {
                if let Ok(v) = r.json::<Value>().await {
                    if v["value"]["ready"] == true {
                        return;
                    }
                }
            }
            assert!(Instant::now() < deadline, "chromedriver did not become ready");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A new headless Chromium session with a window of `width` x `height`.
    pub async fn session(&self, profile: &Path, width: u32, height: u32) -> Browser {
        let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].into_iter().find(|p| Path::new(p).exists());
        let mut opts = json!({
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     format!("--window-size={width},{height}"), format!("--user-data-dir={}", profile.display())],
        });
        if let Some(bin) = chromium {
            opts["binary"] = json!(bin);
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome", "goog:chromeOptions": opts, "goog:loggingPrefs": {"browser": "ALL"}}}});
        let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().unwrap();
        let v: Value = http.post(format!("{}/session", self.base)).json(&caps).send().await.unwrap().json().await.unwrap();
        let id = v["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no WebDriver session: {v}")).to_string();
        Browser { http, url: format!("{}/session/{id}", self.base) }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct Browser {
    http: reqwest::Client,
    url: String,
}

impl Browser {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self.http.request(method, format!("{}{path}", self.url));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let v: Value = req.send().await.unwrap().json().await.unwrap();
        if v["value"].get("error").is_some() {
            panic!("WebDriver {path}: {}", v["value"]);
        }
        v["value"].clone()
    }

    pub async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({"url": url}))).await;
    }

    /// Runs `script` (a function body; `arguments` available) and returns its value.
    pub async fn eval(&self, script: &str, args: Value) -> Value {
        self.call(reqwest::Method::POST, "/execute/sync", Some(json!({"script": script, "args": args}))).await
    }

    async fn find(&self, css: &str) -> Option<String> {
        let v = self.eval("return document.querySelector(arguments[0]) !== null", json!([css])).await;
        if v != true {
            return None;
        }
        let e = self.call(reqwest::Method::POST, "/element", Some(json!({"using": "css selector", "value": css}))).await;
        e[ELEMENT].as_str().map(str::to_string)
    }

    /// Waits (up to `timeout`) until `css` matches an element; panics naming it otherwise.
    pub async fn wait_for(&self, css: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(id) = self.find(css).await {
                return id;
            }
            if Instant::now() > deadline {
                let body = self.eval("return document.body.innerText", json!([])).await;
                panic!("no element matches {css:?} after {timeout:?}; the page says:\n{}", body.as_str().unwrap_or(""));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until `script` returns true.
    pub async fn wait_until(&self, what: &str, script: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            if self.eval(script, json!([])).await == true {
                return;
            }
            if Instant::now() > deadline {
                let body = self.eval("return document.body.innerText", json!([])).await;
                panic!("timed out waiting for {what}; the page says:\n{}", body.as_str().unwrap_or(""));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn click(&self, css: &str) {
        let id = self.wait_for(css, Duration::from_secs(10)).await;
        self.call(reqwest::Method::POST, &format!("/element/{id}/click"), Some(json!({}))).await;
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let id = self.wait_for(css, Duration::from_secs(10)).await;
        self.call(reqwest::Method::POST, &format!("/element/{id}/clear"), Some(json!({}))).await;
        self.call(reqwest::Method::POST, &format!("/element/{id}/value"), Some(json!({"text": text}))).await;
    }

    /// Presses keys on the focused element (WebDriver key codes: `\u{E004}` is Tab).
    pub async fn keys(&self, text: &str) {
        let actions = text
            .chars()
            .flat_map(|c| [json!({"type": "keyDown", "value": c.to_string()}), json!({"type": "keyUp", "value": c.to_string()})]);
        let body = json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions.collect::<Vec<_>>()}]});
        self.call(reqwest::Method::POST, "/actions", Some(body)).await;
    }

    pub async fn screenshot(&self, path: &Path) {
        let v = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD.decode(v.as_str().unwrap()).unwrap();
        assert!(png.starts_with(b"\x89PNG"), "a screenshot is a PNG");
        std::fs::write(path, png).unwrap();
    }

    /// The browser console's entries since the last call (chromedriver's log endpoint).
    pub async fn console(&self) -> Vec<Value> {
        let v = self.call(reqwest::Method::POST, "/se/log", Some(json!({"type": "browser"}))).await;
        v.as_array().cloned().unwrap_or_default()
    }

    pub async fn quit(self) {
        let _ = self.http.delete(&self.url).send().await;
    }
}
