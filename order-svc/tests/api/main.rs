//! Integration tests of order-svc: the real app on a real socket and a fresh database
//! on a private Postgres per test, called through the generated tonic client.

mod catalog;
mod events;
mod helpers;
mod limits;
mod orders;
mod saga;
mod serving;
mod stock;
mod sweeper;
mod transitions;
