//! Compiles `shop/**/*.proto` with the protoc shipped by `protoc-bin-vendored` (no system
//! install needed; `PROTOC` overrides it), then generates proto3-JSON serde impls for
//! the REST facade. `google.protobuf.Timestamp` is our own type (`src/timestamp.rs`, canonical
//! JSON); the other well-known types come from pbjson-types. `google/rpc/*.proto` (as
//! googleapis publishes them) only become a descriptor set, for reflection: the error
//! details of every status are tonic-types' own types.

use std::{env, path::PathBuf, process::Command};

/// What a status's details need: `ErrorInfo`, `BadRequest` and the `Status` they travel in.
const ERROR_PROTOS: &[&str] = &["google/rpc/error_details.proto", "google/rpc/status.proto"];

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
    config.protoc_executable(&protoc);

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

    // Descriptors only (with the files they import), so grpcurl can decode the details.
    let error_descriptors = out_dir.join("google_rpc_descriptor.bin");
    let status = Command::new(&protoc)
        .arg("--include_imports")
        .arg(format!(
            "--descriptor_set_out={}",
            error_descriptors.display()
        ))
        .arg("-I.")
        .arg(format!("-I{}", includes[1].display()))
        .args(ERROR_PROTOS)
        .status()?;
    if !status.success() {
        return Err(format!("protoc failed on {ERROR_PROTOS:?}: {status}").into());
    }

    for proto in PROTOS.iter().chain(ERROR_PROTOS) {
        println!("cargo:rerun-if-changed={proto}");
    }
    Ok(())
}
