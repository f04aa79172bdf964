//! Accept loop shared by both listeners: optional TLS, HTTP/1.1 and HTTP/2, and closing a
//! connection without an answer when a fault says so.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

/// Returned by a handler to close the connection without a response.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("connection dropped on purpose")]
pub struct Dropped;

/// Remote address of the connection, put into every request's extensions.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

/// A request handler.
pub type Handler = Arc<
    dyn Fn(Request<Body>) -> Pin<Box<dyn Future<Output = Result<Response, Dropped>> + Send>> + Send + Sync,
>;

async fn serve_conn<S>(io: S, peer: SocketAddr, handler: Handler)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
        let h = handler.clone();
        let mut req = req.map(Body::new);
        req.extensions_mut().insert(Peer(peer));
        async move { h(req).await }
    });
    if let Err(e) = auto::Builder::new(TokioExecutor::new())
        .serve_connection(TokioIo::new(io), svc)
        .await
    {
        tracing::debug!(%peer, error = %e, "connection ended");
    }
}

/// Serves `listener` until `shutdown` flips; open connections are cut when it does.
pub async fn serve(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    handler: Handler,
    mut shutdown: watch::Receiver<bool>,
) {
    let acceptor = tls.map(TlsAcceptor::from);
    let mut conns: JoinSet<()> = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            _ = shutdown.changed() => break,
            a = listener.accept() => a,
        };
        // Reap finished connections so the set does not grow without bound.
        while conns.try_join_next().is_some() {}
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let handler = handler.clone();
        let acceptor = acceptor.clone();
        conns.spawn(async move {
            match acceptor {
                Some(acc) => match tokio::time::timeout(Duration::from_secs(10), acc.accept(stream)).await {
                    Ok(Ok(tls)) => serve_conn(tls, peer, handler).await,
                    Ok(Err(e)) => tracing::debug!(%peer, error = %e, "tls handshake failed"),
                    Err(_) => tracing::debug!(%peer, "tls handshake timed out"),
                },
                None => serve_conn(stream, peer, handler).await,
            }
        });
    }
    conns.shutdown().await;
}

/// Turns an infallible axum router into a handler.
pub fn from_router(router: axum::Router) -> Handler {
    Arc::new(move |req| {
        let r = router.clone();
        Box::pin(async move {
            use tower::ServiceExt as _;
            let resp: Result<Response, Infallible> = r.oneshot(req).await;
            Ok(resp.unwrap_or_else(|e| match e {}))
        })
    })
}
