//! Cello's middleware against a real Redis (127.0.0.1:6379, or `CELLO_TEST_REDIS_URL`):
//! the store and the rate limits on it (`store`), the response cache (`cache`) and
//! sessions (`session`), each with two chains built from one config standing for two
//! workers.
//!
//! One binary for all of them (one integration-test binary per crate, STYLE.md), built
//! only with `--features redis`. Each test uses a key prefix of its own
//! ([`support::prefix`]), so tests running at once (and other programs using the same
//! Redis) never meet, and deletes its keys at the end.

#![cfg(feature = "redis")]

mod cache;
mod session;
mod store;
mod support;
