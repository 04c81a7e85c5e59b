//! The gateway binary: `shop_common::app::main` with the gateway's config and app.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    shop_common::app::main("gateway", gateway::Config::from_env, gateway::App::build).await
}
