//! What grpcurl does against a server: health checks and reflection listings.

use tokio_stream::StreamExt;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};
use tonic_reflection::pb::v1::{
    ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
    server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
};

/// The health status of `service` ("" for the whole server).
pub async fn health(url: &str, service: &str) -> anyhow::Result<ServingStatus> {
    let mut client = HealthClient::new(channel(url).await?);
    let response = client
        .check(HealthCheckRequest {
            service: service.to_owned(),
        })
        .await?;
    Ok(response.into_inner().status())
}

/// The services listed by server reflection v1, as `grpcurl list` prints them.
pub async fn list_services(url: &str) -> anyhow::Result<Vec<String>> {
    let mut client = ServerReflectionClient::new(channel(url).await?);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await?
        .into_inner();
    let Some(response) = responses.next().await else {
        anyhow::bail!("reflection answered nothing");
    };
    match response?.message_response {
        Some(MessageResponse::ListServicesResponse(list)) => {
            let mut names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
            names.sort();
            Ok(names)
        }
        other => anyhow::bail!("unexpected reflection answer: {other:?}"),
    }
}

async fn channel(url: &str) -> anyhow::Result<tonic::transport::Channel> {
    Ok(tonic::transport::Channel::from_shared(url.to_owned())?
        .connect()
        .await?)
}
