//! Reflection on every server resolves the error-detail types, as grpcurl asks for
//! them to print `reason: OUT_OF_STOCK` and field violations.

use prost::Message;
use prost_types::FileDescriptorProto;
use shop_e2e::Stack;
use tokio_stream::StreamExt;
use tonic_reflection::pb::v1::{
    ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
    server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
};

/// The files reflection answers for one request, or None when it answers with an
/// error (an unknown symbol or file).
async fn files(url: &str, request: MessageRequest) -> Option<Vec<FileDescriptorProto>> {
    let channel = tonic::transport::Channel::from_shared(url.to_owned())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = ServerReflectionClient::new(channel);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(request),
    };
    let mut answers = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let answer = match answers.next().await.unwrap() {
        Ok(answer) => answer,
        Err(status) if status.code() == tonic::Code::NotFound => return None,
        Err(status) => panic!("{url}: {status:?}"),
    };
    match answer.message_response {
        Some(MessageResponse::FileDescriptorResponse(found)) => Some(
            found
                .file_descriptor_proto
                .iter()
                .map(|bytes| FileDescriptorProto::decode(bytes.as_slice()).unwrap())
                .collect(),
        ),
        Some(MessageResponse::ErrorResponse(_)) => None,
        other => panic!("{url}: unexpected reflection answer {other:?}"),
    }
}

#[tokio::test]
async fn every_server_serves_the_error_detail_types() {
    let stack = Stack::start().await.unwrap();
    for running in [
        &stack.order,
        &stack.payment,
        &stack.delivery,
        &stack.gateway,
    ] {
        let url = running.url();
        for symbol in ["google.rpc.ErrorInfo", "google.rpc.BadRequest"] {
            let found = files(&url, MessageRequest::FileContainingSymbol(symbol.into()))
                .await
                .unwrap_or_else(|| panic!("{url}: {symbol} unknown"));
            let details = found
                .iter()
                .find(|f| f.name() == "google/rpc/error_details.proto")
                .unwrap_or_else(|| panic!("{url}: {symbol} not resolved"));
            assert_eq!(details.package(), "google.rpc");
            let short = symbol.trim_start_matches("google.rpc.");
            assert!(
                details.message_type.iter().any(|m| m.name() == short),
                "{url}: {symbol} missing"
            );
            // What it imports resolves too (grpcurl fetches it next).
            for dependency in &details.dependency {
                let imported = files(&url, MessageRequest::FileByFilename(dependency.clone()))
                    .await
                    .unwrap_or_default();
                assert!(
                    imported.iter().any(|f| f.name() == dependency),
                    "{url}: {dependency} not served"
                );
            }
        }
        let unknown = files(
            &url,
            MessageRequest::FileContainingSymbol("google.rpc.Nope".into()),
        )
        .await;
        assert!(unknown.is_none(), "{url}: a made-up symbol resolved");
    }
}
