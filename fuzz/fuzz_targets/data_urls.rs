//! Database URLs as `cello-data` reads them (`BackendKind::of_url`, `redact`,
//! `PoolConfig::address`) and Redis URLs as `RedisClient::connect` hands them to the
//! redis crate (`IntoConnectionInfo`): configuration rather than client input, but they
//! reach logs and error messages. Invariant: a URL with a password redacts to the same URL with
//! `***` in the password's place, whatever the password holds.
#![no_main]

use cello_data::{redact, BackendKind, PoolConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(url) = std::str::from_utf8(data) else {
        return;
    };
    let _ = BackendKind::of_url(url);
    let _ = PoolConfig::new(url).address();
    let _ = redis::IntoConnectionInfo::into_connection_info(url);
    let redacted = redact(url);
    let Some((scheme, rest)) = url.split_once("://") else {
        assert_eq!(redacted, url);
        return;
    };
    let (authority, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    if let Some((credentials, host)) = authority.rsplit_once('@') {
        if let Some((user, _password)) = credentials.split_once(':') {
            assert_eq!(redacted, format!("{scheme}://{user}:***@{host}{tail}"));
        }
    }
});
