//! Runs the mock provider until Ctrl-C:
//! `cargo run -p tally-mock-provider --example serve -- [ADDR] [API_KEY]`
//! (ADDR defaults to 127.0.0.1:8089).

use tally_mock_provider::{MockConfig, serve};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:8089".to_owned());
    let config = MockConfig {
        expected_api_key: args.next(),
        ..MockConfig::default()
    };
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    eprintln!("mock provider on http://{}", listener.local_addr()?);
    serve(listener, config, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}
