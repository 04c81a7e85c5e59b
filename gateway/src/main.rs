use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    shop_common::app::main("gateway", gateway::Config::from_env, gateway::App::build).await
}
