//! The checkout system's protobuf contract (`proto/shop/**`), compiled for tonic.
//!
//! - `shop::common::v1`: types shared by the services and the public API.
//! - `shop::{order,payment,delivery}::v1`: the internal services, called only by the gateway.
//! - `shop::gateway::v1`: the public `ShopService` and `AdminService`.
//!
//! Every message also implements serde with the proto3 JSON mapping (camelCase fields,
//! int64 as string on output, number or string on input), used by the REST facade.
//! [`FILE_DESCRIPTOR_SET`] feeds gRPC server reflection.

pub mod timestamp;

/// The encoded `FileDescriptorSet` of every `.proto` in this crate.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/shop_descriptor.bin"));

/// The encoded `FileDescriptorSet` of `google/rpc/{error_details,status}.proto` and what
/// they import: reflection serves it so that clients such as grpcurl can decode the
/// `ErrorInfo` and `BadRequest` details of an error status.
pub const ERROR_DETAILS_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/google_rpc_descriptor.bin"));

#[allow(clippy::all, clippy::unwrap_used, missing_docs)]
pub mod shop {
    pub mod common {
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/shop.common.v1.rs"));
            include!(concat!(env!("OUT_DIR"), "/shop.common.v1.serde.rs"));
        }
    }
    pub mod order {
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/shop.order.v1.rs"));
            include!(concat!(env!("OUT_DIR"), "/shop.order.v1.serde.rs"));
        }
    }
    pub mod payment {
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/shop.payment.v1.rs"));
            include!(concat!(env!("OUT_DIR"), "/shop.payment.v1.serde.rs"));
        }
    }
    pub mod delivery {
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/shop.delivery.v1.rs"));
            include!(concat!(env!("OUT_DIR"), "/shop.delivery.v1.serde.rs"));
        }
    }
    pub mod gateway {
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/shop.gateway.v1.rs"));
            include!(concat!(env!("OUT_DIR"), "/shop.gateway.v1.serde.rs"));
        }
    }
}

pub use shop::common::v1 as common;
pub use shop::delivery::v1 as delivery;
pub use shop::gateway::v1 as gateway;
pub use shop::order::v1 as order;
pub use shop::payment::v1 as payment;
