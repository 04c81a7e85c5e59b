//! The contract's descriptors (the file descriptor set compiled into `shop-proto`):
//! what the facade binds requests by and the OpenAPI document is made from.

use std::sync::LazyLock;

use prost_reflect::{DescriptorPool, MethodDescriptor};

static POOL: LazyLock<DescriptorPool> = LazyLock::new(|| {
    // Start-up (the router is built from it): the set is compiled in, and a unit
    // test decodes it.
    DescriptorPool::decode(shop_proto::FILE_DESCRIPTOR_SET)
        .expect("the compiled-in descriptor set decodes")
});

pub fn pool() -> &'static DescriptorPool {
    &POOL
}

/// `shop.gateway.v1.ShopService/PlaceOrder`.
pub fn method(full: &str) -> Option<MethodDescriptor> {
    let (service, method) = full.split_once('/')?;
    pool()
        .get_service_by_name(service)?
        .methods()
        .find(|m| m.name() == method)
}

/// The proto comment of a descriptor at `path` of its file (leading, else trailing).
pub fn comment(file: &prost_reflect::FileDescriptor, path: &[i32]) -> Option<String> {
    let info = file.file_descriptor_proto().source_code_info.as_ref()?;
    let location = info.location.iter().find(|l| l.path == path)?;
    let text = location
        .leading_comments
        .as_deref()
        .or(location.trailing_comments.as_deref())?;
    let text = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    (!text.is_empty()).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_set_decodes_with_its_comments() {
        let place = method("shop.gateway.v1.ShopService/PlaceOrder").unwrap();
        assert_eq!(place.input().name(), "PlaceOrderRequest");
        let text = comment(&place.parent_file(), place.path()).unwrap();
        assert!(text.contains("PENDING_PAYMENT"), "{text}");
        assert!(method("shop.gateway.v1.ShopService/Nothing").is_none());
    }
}
