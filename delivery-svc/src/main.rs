//! The delivery-svc binary: telemetry, config from the environment, serve until a signal.
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    shop_common::app::main(
        "delivery-svc",
        delivery_svc::Config::from_env,
        delivery_svc::App::build,
    )
    .await
}
