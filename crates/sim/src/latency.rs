//! `sim --latency`: a round trip added to every TLS handshake and every response, so that
//! throughput can be measured where the network, not the CPU, is the limit (docs/spec.md §11).

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use std::time::Duration;

/// `app` with every response delayed by `latency` (unchanged when it is zero).
pub(crate) fn wrap(app: Router, latency: Duration) -> Router {
    if latency.is_zero() {
        return app;
    }
    app.layer(middleware::from_fn_with_state(latency, delay))
}

async fn delay(State(latency): State<Duration>, req: Request, next: Next) -> Response {
    tokio::time::sleep(latency).await;
    next.run(req).await
}

/// Waits `latency` before a TLS handshake is answered (the client's hello waits in the socket).
pub(crate) async fn handshake(latency: Duration) {
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
}
