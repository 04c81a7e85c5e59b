//! The exporter binary: telemetry, config from the environment, consume until a signal.
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    shop_common::app::main("exporter", exporter::Config::from_env, exporter::App::build).await
}
