//! Hostile and careless clients, and what the system keeps about people (issue 14).
//! Each test fails without the change it names: bad input is refused up front and
//! changes nothing, work is bounded when callers leave, personal data and logs do not
//! outlive their purpose, and admin actions leave a trail.

mod admin;
mod auth;
mod flood;
mod input;
mod limits;
mod listener;
mod privacy;
mod retention;

use shop_e2e::Stack;

/// The keys of delivery holds in the Redis at `url` (a private one: the shared Redis
/// holds other tests' holds).
pub async fn holds(url: &str) -> Vec<String> {
    let mut conn = redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    redis::cmd("KEYS")
        .arg("delivery:hold:*")
        .query_async(&mut conn)
        .await
        .unwrap()
}

/// A token for a new user of `stack`'s gateway, without opening a connection.
pub fn token(stack: &Stack) -> (uuid::Uuid, String) {
    let user = uuid::Uuid::now_v7();
    let token = gateway::auth::Authenticator::new(&stack.jwt_secret)
        .mint(
            user,
            gateway::auth::Role::User,
            std::time::Duration::from_secs(600),
        )
        .unwrap();
    (user, token)
}
