//! UUID newtypes, so an order id cannot be passed where a saga or user id is expected.
//! Every crate declares its ids with [`uuid_id!`](crate::uuid_id); there is one
//! definition of what an id can do.

/// Declares UUID newtypes: `Copy`, ordered, hashable, printed as the bare UUID, made
/// from a [`Uuid`](uuid::Uuid) with `From` and read back with `.0`.
///
/// ```
/// shop_common::uuid_id!(
///     /// An order.
///     OrderId,
/// );
/// let raw = uuid::Uuid::now_v7();
/// let id = OrderId::from(raw);
/// assert_eq!(id.to_string(), raw.to_string());
/// ```
#[macro_export]
macro_rules! uuid_id {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub $crate::ids::Uuid);

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl ::std::convert::From<$crate::ids::Uuid> for $name {
            fn from(id: $crate::ids::Uuid) -> Self {
                Self(id)
            }
        }

        impl ::std::convert::From<$name> for $crate::ids::Uuid {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl $name {
            /// A new, time-ordered id (UUIDv7), for the crate that owns such records.
            pub fn generate() -> Self {
                Self($crate::ids::Uuid::now_v7())
            }
        }
    )*};
}

#[doc(hidden)]
pub use uuid::Uuid;

#[cfg(test)]
mod tests {
    crate::uuid_id!(
        /// For the test.
        ThingId,
        OtherId,
    );

    #[test]
    fn ids_print_as_their_uuid_and_convert_both_ways() {
        let raw = uuid::Uuid::now_v7();
        let id = ThingId::from(raw);
        assert_eq!(id.to_string(), raw.to_string());
        assert_eq!(uuid::Uuid::from(id), raw);
        assert_ne!(ThingId::generate(), ThingId::generate());
        assert!(OtherId::generate().0.get_version_num() == 7);
    }
}
