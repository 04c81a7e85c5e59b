//! Compiles `shop/**/*.proto` with the protoc shipped by `protoc-bin-vendored` (no system
//! install needed; `PROTOC` overrides it), then generates proto3-JSON serde impls for
//! the REST facade. `google.protobuf.Timestamp` is our own type (`src/timestamp.rs`, canonical
//! JSON); the other well-known types come from pbjson-types.

use std::{env, path::PathBuf};

const PROTOS: &[&str] = &[
    "shop/common/v1/common.proto",
    "shop/order/v1/order.proto",
    "shop/payment/v1/payment.proto",
    "shop/delivery/v1/delivery.proto",
    "shop/gateway/v1/shop.proto",
    "shop/gateway/v1/admin.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = match env::var_os("PROTOC") {
        Some(path) => PathBuf::from(path),
        None => protoc_bin_vendored::protoc_bin_path()?,
    };
    let mut config = tonic_prost_build::Config::new();
    config.protoc_executable(protoc);

    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    let descriptor_path = out_dir.join("shop_descriptor.bin");
    let protos: Vec<PathBuf> = PROTOS.iter().map(PathBuf::from).collect();
    let includes = [PathBuf::from("."), protoc_bin_vendored::include_path()?];

    tonic_prost_build::configure()
        .file_descriptor_set_path(&descriptor_path)
        .compile_well_known_types(true)
        .extern_path(".google.protobuf", "::pbjson_types")
        .extern_path(".google.protobuf.Timestamp", "crate::timestamp::Timestamp")
        .compile_with_config(config, &protos, &includes)?;

    let descriptors = std::fs::read(&descriptor_path)?;
    pbjson_build::Builder::new()
        .register_descriptors(&descriptors)?
        .extern_path(".google.protobuf.Timestamp", "crate::timestamp::Timestamp")
        .build(&[".shop"])?;

    for proto in PROTOS {
        println!("cargo:rerun-if-changed={proto}");
    }
    Ok(())
}
