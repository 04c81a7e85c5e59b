//! One entry of the route table ([`super::routes`]): a method and path, and what
//! answers it. For an RPC of the public services the entry also says where each
//! request field comes from (path, query or body), who may call it and what it may
//! answer; the router and the OpenAPI document are both made from these entries.

use std::{future::Future, pin::Pin};

use axum::{
    extract::{Request, State},
    http::{Method, StatusCode},
    response::{IntoResponse, Response},
    routing::{MethodFilter, MethodRouter, on},
};
use prost_reflect::MethodDescriptor;
use serde::{Serialize, de::DeserializeOwned};
use tonic::{Status, metadata::MetadataMap};

use super::{AppState, bind::Binding, descriptors, error::ApiError, json::respond};
use crate::{api::Gateway, idempotency::IDEMPOTENT_REPLAYED};

/// An RPC of the public services as the facade calls it: with an owned gateway, so
/// the future is `'static` (`call!` in [`super::routes`]).
pub type Call<Req, Resp> =
    fn(
        Gateway,
        tonic::Request<Req>,
    ) -> Pin<Box<dyn Future<Output = Result<tonic::Response<Resp>, Status>> + Send>>;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No token needed.
    Public,
    /// A user's (or an admin's) token.
    User,
    /// An admin's token.
    Admin,
}

/// A route of the facade.
pub struct Route {
    pub method: Method,
    pub path: &'static str,
    pub target: Target,
    pub(super) handler: MethodRouter<AppState>,
}

/// What a route is, as the OpenAPI document describes it.
pub enum Target {
    Rpc(Rpc),
    /// Served by the facade itself: health, the document, pages and their assets.
    /// `doc` is its entry in the OpenAPI document, if it has one.
    Plain {
        doc: Option<super::openapi::Plain>,
    },
}

/// An RPC route's contract.
pub struct Rpc {
    /// `shop.gateway.v1.ShopService/PlaceOrder`.
    pub descriptor: MethodDescriptor,
    pub access: Access,
    /// The status of a success.
    pub ok: StatusCode,
    /// Path parameter -> request field (proto name). Every other field of the request
    /// comes from the query (GET) or the JSON body (POST).
    pub path_fields: &'static [(&'static str, &'static str)],
    /// Takes an `Idempotency-Key`.
    pub keyed: bool,
    /// Statuses this route may answer besides the ones every RPC route may (400,
    /// 401 unless public, 500, 503, 504; 413 and 415 with a body).
    pub may: &'static [u16],
    /// Test hooks: the request and response types' proto3 JSON, from and to protobuf
    /// bytes (checks that the Rust types are the descriptor's and agree with the
    /// document).
    #[cfg(test)]
    pub codec: Codec,
}

#[cfg(test)]
#[derive(Clone, Copy)]
pub struct Codec {
    pub request_json: fn(&[u8]) -> Result<serde_json::Value, String>,
    pub request_from_json: fn(serde_json::Value) -> Result<Vec<u8>, String>,
    pub response_json: fn(&[u8]) -> Result<serde_json::Value, String>,
}

impl Rpc {
    /// Whether the request has a JSON body (every POST), else query parameters.
    pub fn has_body(&self, method: &Method) -> bool {
        method == Method::POST
    }
}

/// The builder of an RPC route (see [`super::routes`]).
pub struct RpcRoute<Req, Resp> {
    method: Method,
    path: &'static str,
    rpc: &'static str,
    call: Call<Req, Resp>,
    access: Access,
    ok: StatusCode,
    path_fields: &'static [(&'static str, &'static str)],
    keyed: bool,
    may: &'static [u16],
}

pub fn get<Req, Resp>(
    path: &'static str,
    rpc: &'static str,
    call: Call<Req, Resp>,
) -> RpcRoute<Req, Resp> {
    RpcRoute::new(Method::GET, path, rpc, call)
}

pub fn post<Req, Resp>(
    path: &'static str,
    rpc: &'static str,
    call: Call<Req, Resp>,
) -> RpcRoute<Req, Resp> {
    RpcRoute::new(Method::POST, path, rpc, call)
}

impl<Req, Resp> RpcRoute<Req, Resp> {
    fn new(method: Method, path: &'static str, rpc: &'static str, call: Call<Req, Resp>) -> Self {
        let access = if rpc.starts_with("AdminService/") {
            Access::Admin
        } else {
            Access::User
        };
        Self {
            method,
            path,
            rpc,
            call,
            access,
            ok: StatusCode::OK,
            path_fields: &[],
            keyed: false,
            may: &[],
        }
    }

    /// Answers 201 Created.
    pub fn created(mut self) -> Self {
        self.ok = StatusCode::CREATED;
        self
    }

    pub fn path_fields(mut self, fields: &'static [(&'static str, &'static str)]) -> Self {
        self.path_fields = fields;
        self
    }

    pub fn keyed(mut self) -> Self {
        self.keyed = true;
        self
    }

    pub fn may(mut self, statuses: &'static [u16]) -> Self {
        self.may = statuses;
        self
    }
}

impl<Req, Resp> From<RpcRoute<Req, Resp>> for Route
where
    Req: DeserializeOwned + Serialize + prost::Message + Default + Send + 'static,
    Resp: Serialize + prost::Message + Default + Send + 'static,
{
    fn from(r: RpcRoute<Req, Resp>) -> Self {
        let full = format!("shop.gateway.v1.{}", r.rpc);
        // Start-up: the table names RPCs of the compiled-in contract (a unit test
        // checks every one).
        let descriptor = descriptors::method(&full)
            .unwrap_or_else(|| panic!("route {} names no RPC {full}", r.path));
        let binding = Binding::new(descriptor.input(), r.path_fields, r.method == Method::POST);
        let (call, ok, access) = (r.call, r.ok, r.access);
        let handler = move |State(state): State<AppState>, request: Request| {
            let binding = binding.clone();
            async move {
                let metadata = MetadataMap::from_headers(request.headers().clone());
                // Who is asking comes before what is asked: a caller without a valid
                // token learns nothing about the body (401 before any 400).
                if let Err(status) = authorize(&state.gateway, access, &metadata) {
                    return ApiError(status).into_response();
                }
                let message = match binding.message::<Req>(request).await {
                    Ok(message) => message,
                    Err(rejection) => return rejection,
                };
                let request = tonic::Request::from_parts(metadata, Default::default(), message);
                answer(call(state.gateway, request).await, ok)
            }
        };
        let filter = MethodFilter::try_from(r.method.clone())
            .unwrap_or_else(|_| panic!("route {}: no such method filter", r.path));
        Self {
            method: r.method,
            path: r.path,
            target: Target::Rpc(Rpc {
                descriptor,
                access: r.access,
                ok: r.ok,
                path_fields: r.path_fields,
                keyed: r.keyed,
                may: r.may,
                #[cfg(test)]
                codec: Codec {
                    request_json: |bytes| to_json::<Req>(bytes),
                    request_from_json: |json| from_json::<Req>(json),
                    response_json: |bytes| to_json::<Resp>(bytes),
                },
            }),
            handler: on(filter, handler),
        }
    }
}

/// The same check the RPC makes first (it makes it again: the gRPC face has no
/// facade in front of it).
fn authorize(gateway: &Gateway, access: Access, metadata: &MetadataMap) -> Result<(), Status> {
    match access {
        Access::Public => Ok(()),
        Access::User => gateway
            .auth()
            .caller(metadata)
            .map(drop)
            .map_err(Status::from),
        Access::Admin => gateway
            .auth()
            .admin(metadata)
            .map(drop)
            .map_err(Status::from),
    }
}

/// The RPC's answer in JSON; a replayed idempotent answer says so in
/// `Idempotent-Replayed: true`, as the gRPC face does in its response metadata.
fn answer<Resp: Serialize>(
    result: Result<tonic::Response<Resp>, Status>,
    ok: StatusCode,
) -> Response {
    match result {
        Ok(response) => {
            let mut http = respond(ok, response.get_ref());
            if let Some(replayed) = response.metadata().get(IDEMPOTENT_REPLAYED)
                && let Ok(value) = axum::http::HeaderValue::from_bytes(replayed.as_bytes())
            {
                http.headers_mut().insert(IDEMPOTENT_REPLAYED, value);
            }
            http
        }
        Err(status) => ApiError(status).into_response(),
    }
}

impl Route {
    /// A route the facade answers itself.
    pub fn plain(
        method: Method,
        path: &'static str,
        handler: MethodRouter<AppState>,
        doc: Option<super::openapi::Plain>,
    ) -> Self {
        Self {
            method,
            path,
            target: Target::Plain { doc },
            handler,
        }
    }
}

#[cfg(test)]
fn to_json<T: prost::Message + Default + Serialize>(
    bytes: &[u8],
) -> Result<serde_json::Value, String> {
    let message = T::decode(bytes).map_err(|e| e.to_string())?;
    serde_json::to_value(&message).map_err(|e| e.to_string())
}

#[cfg(test)]
fn from_json<T: prost::Message + DeserializeOwned>(
    json: serde_json::Value,
) -> Result<Vec<u8>, String> {
    let message: T = serde_json::from_value(json).map_err(|e| e.to_string())?;
    Ok(message.encode_to_vec())
}
