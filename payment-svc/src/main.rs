//! The payment-svc binary: telemetry, config from the environment, serve until a signal.
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    shop_common::app::main(
        "payment-svc",
        payment_svc::Config::from_env,
        payment_svc::App::build,
    )
    .await
}
