//! Delta sync for offline clients: what was deleted since a point in time (tombstones, recorded by database
//! triggers on every deletion path), with a signal to start over when that point is older than what is kept.

mod graphql;
mod model;

pub use graphql::{SyncQuery, SyncSettings};
pub use model::purge_older_than;
