//! A proxy that does nothing but pass requests on: the floor under any
//! gateway's added latency on this machine. It is built on the same HTTP
//! stack as tally (axum server, reqwest client with the same pool settings)
//! and runs as its own process, but authenticates nothing, parses nothing
//! and records nothing: it swaps the API key and relays the bytes. The
//! overhead suite sends the same load through it, so the difference between
//! it and tally is tally's own work, and the difference between it and the
//! direct path is what one more loopback hop costs here.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::serve::ListenerExt;

#[derive(clap::Args)]
pub struct Args {
    /// Where to listen.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Base URL requests are passed to, e.g. `http://127.0.0.1:9000`.
    #[arg(long)]
    upstream: String,
    /// The upstream's API key (sent as a bearer token).
    #[arg(long)]
    api_key: String,
}

struct Upstream {
    client: reqwest::Client,
    base: String,
    key: String,
}

async fn relay(State(up): State<Arc<Upstream>>, uri: Uri, body: Bytes) -> Response {
    let sent = up
        .client
        .post(format!("{}{}", up.base, uri.path()))
        .bearer_auth(&up.key)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await;
    let Ok(resp) = sent else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    let mut out = Response::builder().status(resp.status().as_u16());
    if let Some(ct) = resp.headers().get(header::CONTENT_TYPE) {
        out = out.header(header::CONTENT_TYPE, ct.as_bytes());
    }
    out.body(Body::from_stream(resp.bytes_stream()))
        .unwrap_or_else(|_| StatusCode::BAD_GATEWAY.into_response())
}

pub async fn run(a: Args) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .tcp_nodelay(true)
        .build()?;
    let up = Arc::new(Upstream {
        client,
        base: a.upstream.trim_end_matches('/').to_owned(),
        key: a.api_key,
    });
    let listener = tokio::net::TcpListener::bind(a.listen).await?;
    println!("passthrough proxy is listening on http://{}/", listener.local_addr()?);
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, Router::new().fallback(relay).with_state(up)).await?;
    Ok(())
}
