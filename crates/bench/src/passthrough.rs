//! A proxy that does nothing but pass requests on: the floor under any
//! gateway's added latency on this machine. By default it is built on the
//! same HTTP stack as tally (axum server, reqwest client with the same pool settings)
//! and runs as its own process, but authenticates nothing, parses nothing
//! and records nothing: it swaps the API key and relays the bytes. The
//! overhead suite sends the same load through it, so the difference between
//! it and tally is tally's own work, and the difference between it and the
//! direct path is what one more loopback hop costs here.
//!
//! `--stack` picks the layers: `axum-reqwest` (tally's), `axum-hyper`
//! (axum's server, hyper-util's pooled client, both bodies read whole as
//! tally reads them) or `hyper` (hyper's HTTP/1 server per connection and
//! hyper-util's client, bodies streamed through: the bare HTTP library).

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
    /// The HTTP layers the relay is built on.
    #[arg(long, value_enum, default_value_t = Stack::AxumReqwest)]
    stack: Stack,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Stack {
    /// axum's server and reqwest's client, as tally.
    AxumReqwest,
    /// axum's server and hyper-util's client; request and response read whole.
    AxumHyper,
    /// hyper's server and hyper-util's client; bodies streamed through.
    Hyper,
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
    match a.stack {
        Stack::AxumReqwest => {}
        Stack::AxumHyper => return raw::run_axum(a).await,
        Stack::Hyper => return raw::run(a).await,
    }
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .tcp_nodelay(true)
        .build()?;
    let up = Arc::new(Upstream {
        client,
        base: a.upstream.trim_end_matches('/').to_owned(),
        key: a.api_key,
    });
    serve_axum(a.listen, Router::new().fallback(relay).with_state(up)).await
}

/// Serves `app` on `listen` with axum, as tally's `serve` does (`TCP_NODELAY`
/// on every accepted connection), after announcing the address.
async fn serve_axum(listen: SocketAddr, app: Router) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    println!("passthrough proxy is listening on http://{}/", listener.local_addr()?);
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app).await?;
    Ok(())
}

mod raw {
    use std::convert::Infallible;
    use std::sync::Arc;

    use axum::http::{HeaderValue, Request, Response, StatusCode, Uri, header};
    use http_body_util::{BodyExt, Full, combinators::BoxBody};
    use hyper::body::{Bytes, Incoming};
    use hyper::service::service_fn;
    use hyper_util::client::legacy::Client;
    use hyper_util::client::legacy::connect::HttpConnector;
    use hyper_util::rt::{TokioExecutor, TokioIo};

    type Body = BoxBody<Bytes, hyper::Error>;

    /// Where and how requests are passed on; `B` is the body the client sends.
    struct Upstream<B> {
        client: Client<HttpConnector, B>,
        base: String,
        auth: HeaderValue,
    }

    impl<B> Upstream<B>
    where
        B: hyper::body::Body + Send + 'static,
        B::Data: Send,
    {
        fn new(a: &super::Args) -> anyhow::Result<Arc<Self>> {
            let mut connector = HttpConnector::new();
            connector.set_nodelay(true);
            Ok(Arc::new(Upstream {
                client: Client::builder(TokioExecutor::new())
                    .pool_max_idle_per_host(256)
                    .build(connector),
                base: a.upstream.trim_end_matches('/').to_owned(),
                auth: HeaderValue::from_str(&format!("Bearer {}", a.api_key))?,
            }))
        }
    }

    fn status(code: StatusCode) -> Response<Body> {
        let mut r = Response::new(Full::new(Bytes::new()).map_err(|e| match e {}).boxed());
        *r.status_mut() = code;
        r
    }

    async fn relay(up: Arc<Upstream<Incoming>>, req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
        let (mut parts, body) = req.into_parts();
        let Ok(uri) = format!("{}{}", up.base, parts.uri.path()).parse::<Uri>() else {
            return Ok(status(StatusCode::BAD_GATEWAY));
        };
        parts.uri = uri;
        parts.headers.remove(header::HOST);
        parts.headers.insert(header::AUTHORIZATION, up.auth.clone());
        match up.client.request(Request::from_parts(parts, body)).await {
            Ok(resp) => Ok(resp.map(BodyExt::boxed)),
            Err(_) => Ok(status(StatusCode::BAD_GATEWAY)),
        }
    }

    async fn relay_whole(
        axum::extract::State(up): axum::extract::State<Arc<Upstream<Full<Bytes>>>>,
        uri: Uri,
        body: Bytes,
    ) -> axum::response::Response {
        use axum::response::IntoResponse;
        let Ok(target) = format!("{}{}", up.base, uri.path()).parse::<Uri>() else {
            return StatusCode::BAD_GATEWAY.into_response();
        };
        let req = Request::post(target)
            .header(header::AUTHORIZATION, up.auth.clone())
            .header(header::CONTENT_TYPE, "application/json")
            .body(Full::new(body));
        let Ok(req) = req else {
            return StatusCode::BAD_GATEWAY.into_response();
        };
        let Ok(resp) = up.client.request(req).await else {
            return StatusCode::BAD_GATEWAY.into_response();
        };
        let (parts, body) = resp.into_parts();
        let Ok(bytes) = body.collect().await.map(|b| b.to_bytes()) else {
            return StatusCode::BAD_GATEWAY.into_response();
        };
        let mut out = axum::response::Response::new(axum::body::Body::from(bytes));
        *out.status_mut() = parts.status;
        if let Some(ct) = parts.headers.get(header::CONTENT_TYPE) {
            out.headers_mut().insert(header::CONTENT_TYPE, ct.clone());
        }
        out
    }

    pub async fn run_axum(a: super::Args) -> anyhow::Result<()> {
        let up = Upstream::<Full<Bytes>>::new(&a)?;
        super::serve_axum(a.listen, axum::Router::new().fallback(relay_whole).with_state(up)).await
    }

    pub async fn run(a: super::Args) -> anyhow::Result<()> {
        let up = Upstream::<Incoming>::new(&a)?;
        let listener = tokio::net::TcpListener::bind(a.listen).await?;
        println!("passthrough proxy is listening on http://{}/", listener.local_addr()?);
        loop {
            let (tcp, _) = listener.accept().await?;
            let _ = tcp.set_nodelay(true);
            let up = up.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req| relay(up.clone(), req));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), service)
                    .await;
            });
        }
    }
}
