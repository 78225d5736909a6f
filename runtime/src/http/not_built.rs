//! The spec's endpoints whose capabilities are not built yet. Each answers `501` with
//! a JSON error that names what is missing, after the same authentication as the real
//! thing, so clients can be written against the final surface today.

use super::auth::Viewer;
use super::error::ApiError;
use super::AppState;
use axum::http::{Method, Uri};
use axum::routing::{get, post, MethodRouter};
use axum::Router;
use tradpal_messages::ErrorCode;

/// (method, path, the capability that will serve it).
pub const ROUTES: &[(&str, &str, &str)] = &[];

async fn not_built(_role: Viewer, method: Method, uri: Uri) -> ApiError {
    let what = ROUTES
        .iter()
        .find(|(m, p, _)| *m == method.as_str() && matches_path(p, uri.path()))
        .map(|(_, _, w)| *w)
        .unwrap_or("this capability");
    ApiError::new(ErrorCode::NotImplemented, format!("{method} {} is part of the API but {what} is not built yet", uri.path()))
}

/// Whether a concrete path matches a route pattern (`{x}` one segment, `{*x}` the rest).
fn matches_path(pattern: &str, path: &str) -> bool {
    let (mut p, mut q) = (pattern.split('/'), path.split('/'));
    loop {
        match (p.next(), q.next()) {
            (None, None) => return true,
            (Some(seg), Some(_)) if seg.starts_with("{*") => return true,
            (Some(seg), Some(actual)) if seg.starts_with('{') || seg == actual => continue,
            _ => return false,
        }
    }
}

pub fn routes() -> Router<AppState> {
    let mut router = Router::new();
    for (method, path, _) in ROUTES {
        let handler: MethodRouter<AppState> = if *method == "GET" { get(not_built) } else { post(not_built) };
        router = router.route(path, handler);
    }
    router
}

#[cfg(test)]
mod tests {
    #[test]
    fn patterns() {
        assert!(super::matches_path("/api/data/x/{*symbol}", "/api/data/x/BTC/USDT"));
        assert!(super::matches_path("/api/backtest/results/{id}", "/api/backtest/results/abc"));
        assert!(!super::matches_path("/api/backtest/results/{id}", "/api/backtest/results/abc/def"));
    }
}
