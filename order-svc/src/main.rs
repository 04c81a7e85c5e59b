//! The order-svc binary: telemetry, config from the environment, serve until a signal.
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    shop_common::app::main(
        "order-svc",
        order_svc::Config::from_env,
        order_svc::App::build,
    )
    .await
}
