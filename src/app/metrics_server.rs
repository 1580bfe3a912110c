//! `[metrics] listen`: Prometheus text at `/metrics`, and `/health` answering 200 only while
//! syncing works and the Admin API answers (503 otherwise, with why).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tracing::{info, warn};

use crate::context::Ctx;

/// A sync older than this means syncing does not work (a long poll lasts 30 s).
const SYNC_STALE: f64 = 90.0;
/// How long `/health` waits for the Admin API.
const ADMIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Binds the listener (a start-up error if it cannot) and serves it until the bot stops.
pub(crate) async fn start(ctx: &Arc<Ctx>, addr: SocketAddr) -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("metrics.listen: cannot listen on {addr}: {e}"))?;
    let bound = listener.local_addr()?;
    info!(%bound, "serving /metrics and /health");
    let c = ctx.clone();
    ctx.spawn(async move {
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(s) => s,
                Err(e) => {
                    warn!("metrics: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            };
            let ctx = c.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let ctx = ctx.clone();
                    async move { Ok::<_, std::convert::Infallible>(answer(&ctx, &req).await) }
                });
                if let Err(e) = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await
                {
                    tracing::debug!("metrics connection: {e}");
                }
            });
        }
    });
    Ok(bound)
}

fn text(status: StatusCode, content_type: &str, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    if let Ok(v) = content_type.parse() {
        response
            .headers_mut()
            .insert(hyper::header::CONTENT_TYPE, v);
    }
    response
}

async fn answer(ctx: &Ctx, req: &Request<Incoming>) -> Response<Full<Bytes>> {
    if req.method() != hyper::Method::GET {
        return text(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain",
            "GET only\n".into(),
        );
    }
    match req.uri().path() {
        "/metrics" => {
            let jobs = ctx.store.job_counts().unwrap_or_default();
            let pending = ctx.store.pending_count().unwrap_or(0);
            text(
                StatusCode::OK,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
                crate::metrics::get().render(&jobs, pending),
            )
        }
        "/health" => {
            let sync = crate::metrics::get().since_last_sync();
            let admin = tokio::time::timeout(
                ADMIN_TIMEOUT,
                ctx.admin.send(&crate::admin_api::server::ServerVersion),
            )
            .await;
            let problem = match (sync, admin) {
                (None, _) => Some("no sync has succeeded yet".to_owned()),
                (Some(s), _) if s > SYNC_STALE => Some(format!("the last sync was {s:.0} s ago")),
                (_, Err(_)) => Some("the Admin API did not answer in time".to_owned()),
                (_, Ok(Err(e))) => Some(format!("the Admin API failed: {e}")),
                (Some(_), Ok(Ok(_))) => None,
            };
            match problem {
                None => text(StatusCode::OK, "text/plain", "ok\n".into()),
                Some(why) => text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "text/plain",
                    format!("unhealthy: {why}\n"),
                ),
            }
        }
        _ => text(
            StatusCode::NOT_FOUND,
            "text/plain",
            "not found: try /metrics or /health\n".into(),
        ),
    }
}
