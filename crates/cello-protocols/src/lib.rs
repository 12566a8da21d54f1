//! Cello's protocol engines, one module per protocol, each behind its cargo feature.
//!
//! The crates speak plain Rust (`http` types, JSON values); the Python binding in
//! `cello-py` plugs resolvers in through [`graphql::Host`].

#[cfg(feature = "graphql")]
pub mod graphql;
