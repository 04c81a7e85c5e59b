//! UUID newtypes, so an order id cannot be passed where a saga or user id is expected.
//! Every crate declares its ids with [`uuid_id!`](crate::uuid_id); there is one
//! definition of what an id can do.

/// Declares UUID newtypes: `Copy`, ordered, hashable, printed as the bare UUID, made
/// from a [`Uuid`](uuid::Uuid) with `From` and read back with `.0`, and bound to and
/// read from Postgres `uuid` columns (and `uuid[]` arrays) as the UUID itself.
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

        impl $crate::ids::sqlx::Type<$crate::ids::sqlx::Postgres> for $name {
            fn type_info() -> $crate::ids::sqlx::postgres::PgTypeInfo {
                <$crate::ids::Uuid as $crate::ids::sqlx::Type<$crate::ids::sqlx::Postgres>>::type_info()
            }

            fn compatible(ty: &$crate::ids::sqlx::postgres::PgTypeInfo) -> bool {
                <$crate::ids::Uuid as $crate::ids::sqlx::Type<$crate::ids::sqlx::Postgres>>::compatible(ty)
            }
        }

        impl $crate::ids::sqlx::postgres::PgHasArrayType for $name {
            fn array_type_info() -> $crate::ids::sqlx::postgres::PgTypeInfo {
                <$crate::ids::Uuid as $crate::ids::sqlx::postgres::PgHasArrayType>::array_type_info()
            }
        }

        impl<'q> $crate::ids::sqlx::Encode<'q, $crate::ids::sqlx::Postgres> for $name {
            fn encode_by_ref(
                &self,
                buf: &mut $crate::ids::sqlx::postgres::PgArgumentBuffer,
            ) -> ::std::result::Result<$crate::ids::sqlx::encode::IsNull, $crate::ids::sqlx::error::BoxDynError> {
                <$crate::ids::Uuid as $crate::ids::sqlx::Encode<'q, $crate::ids::sqlx::Postgres>>::encode_by_ref(&self.0, buf)
            }
        }

        impl<'r> $crate::ids::sqlx::Decode<'r, $crate::ids::sqlx::Postgres> for $name {
            fn decode(
                value: $crate::ids::sqlx::postgres::PgValueRef<'r>,
            ) -> ::std::result::Result<Self, $crate::ids::sqlx::error::BoxDynError> {
                <$crate::ids::Uuid as $crate::ids::sqlx::Decode<'r, $crate::ids::sqlx::Postgres>>::decode(value).map(Self)
            }
        }
    )*};
}

#[doc(hidden)]
pub use sqlx;
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
