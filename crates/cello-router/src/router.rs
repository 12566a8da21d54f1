//! The frozen [`Router`] and its [`Lookup`] result: 404, 405, automatic HEAD and OPTIONS,
//! and the trailing-slash redirect.

use http::Method;

use crate::params::{self, Params};
use crate::pattern::Converter;
use crate::route::{PathEntry, RouteInfo, RouteRecord};

/// A read-only router built by [`RouterBuilder::freeze`](crate::RouterBuilder::freeze).
///
/// Lookups take no lock and allocate nothing unless a parameter needs percent-decoding
/// (see the README for the matchit cases that allocate anyway).
pub struct Router<T> {
    matcher: matchit::Router<usize>,
    entries: Box<[PathEntry]>,
    records: Box<[RouteRecord]>,
    values: Box<[T]>,
    /// Whether any route ends with '/': only such a route can match a path with '/' added.
    has_slash_routes: bool,
}

/// The outcome of [`Router::lookup`].
// `Found` is much larger than the rest because `Params` keeps four parameters inline; boxing
// it would put a heap allocation on every lookup, which is what the inline storage avoids.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup<'r, 'p, T> {
    /// A route matched. `head_fallback` is true when a HEAD request matched a GET route
    /// (caller must drop the body but keep headers/Content-Length).
    Found {
        /// The value registered for the route.
        value: &'r T,
        /// The converted path parameters.
        params: Params<'r, 'p>,
        /// True when HEAD was answered by the GET route.
        head_fallback: bool,
    },
    /// Automatic OPTIONS for a path that exists but has no explicit OPTIONS route: answer 204
    /// with this Allow header value.
    Options {
        /// The Allow header value.
        allow: &'r str,
    },
    /// The path exists under other methods: 405 with this Allow header value
    /// (e.g. "GET, HEAD, OPTIONS, POST").
    MethodNotAllowed {
        /// The Allow header value.
        allow: &'r str,
    },
    /// No route for the path, but there is one for the path with its trailing '/' added or
    /// removed: redirect there (the caller sends 307 and appends the query string).
    RedirectSlash {
        /// The alternative path, still percent-encoded as received.
        location: String,
    },
    /// No route: 404. Also returned when a converter rejects a parameter, or when a
    /// parameter does not percent-decode to UTF-8.
    NotFound,
}

/// What the path alone (ignoring the method) resolved to.
#[allow(clippy::large_enum_variant)] // as for `Lookup`
enum PathMatch<'r, 'p> {
    Matched(&'r PathEntry, Params<'r, 'p>),
    /// matchit found a route but a parameter failed decoding or its converter: a 404 that
    /// does not fall through to other routes or to the trailing-slash redirect.
    Rejected,
    Missing,
}

impl<T> Router<T> {
    pub(crate) fn new(
        matcher: matchit::Router<usize>,
        entries: Vec<PathEntry>,
        records: Vec<RouteRecord>,
        values: Vec<T>,
        has_slash_routes: bool,
    ) -> Self {
        Self {
            matcher,
            entries: entries.into_boxed_slice(),
            records: records.into_boxed_slice(),
            values: values.into_boxed_slice(),
            has_slash_routes,
        }
    }

    /// Resolves `path` (the raw, still percent-encoded path of the request target, without
    /// the query string) for `method`.
    pub fn lookup<'r, 'p>(&'r self, method: &Method, path: &'p str) -> Lookup<'r, 'p, T> {
        match self.match_path(path) {
            PathMatch::Matched(entry, params) => self.dispatch(entry, params, method),
            PathMatch::Rejected => Lookup::NotFound,
            PathMatch::Missing => match self.slash_alternative(path) {
                Some(location) => Lookup::RedirectSlash { location },
                None => Lookup::NotFound,
            },
        }
    }

    /// Every registered route in registration order (automatic HEAD/OPTIONS not included).
    pub fn routes(&self) -> impl Iterator<Item = RouteInfo<'_>> {
        self.records.iter().map(RouteRecord::info)
    }

    fn match_path<'r, 'p>(&'r self, path: &'p str) -> PathMatch<'r, 'p> {
        let Ok(matched) = self.matcher.at(path) else {
            return PathMatch::Missing;
        };
        let entry = &self.entries[*matched.value];
        let mut params = Params::new();
        for (position, (name, raw)) in matched.params.iter().enumerate() {
            let converter = entry
                .param(position, name)
                .map_or(Converter::Str, |spec| spec.converter);
            match params::convert(converter, raw) {
                Some(value) => params.push(name, value),
                None => return PathMatch::Rejected,
            }
        }
        PathMatch::Matched(entry, params)
    }

    fn dispatch<'r, 'p>(
        &'r self,
        entry: &'r PathEntry,
        params: Params<'r, 'p>,
        method: &Method,
    ) -> Lookup<'r, 'p, T> {
        let found = |record: usize, head_fallback| Lookup::Found {
            value: &self.values[self.records[record].value],
            params,
            head_fallback,
        };
        if let Some(record) = entry.route_for(method) {
            return found(record, false);
        }
        if method == Method::HEAD {
            if let Some(record) = entry.route_for(&Method::GET) {
                return found(record, true);
            }
        }
        if method == Method::OPTIONS {
            Lookup::Options {
                allow: &entry.allow,
            }
        } else {
            Lookup::MethodNotAllowed {
                allow: &entry.allow,
            }
        }
    }

    /// The same path with its trailing '/' toggled, if that resolves to a route.
    ///
    /// The root is never redirected, and neither is anything whose alternative would start
    /// with "//" or "/\" or holds a control character: browsers drop tabs and newlines and
    /// read "//host" and "/\host" as another host, which would make an open redirect.
    fn slash_alternative(&self, path: &str) -> Option<String> {
        if path == "/" || !path.starts_with('/') {
            return None;
        }
        if let Some(without) = path.strip_suffix('/') {
            return self.is_redirect_target(without).then(|| without.to_owned());
        }
        if !self.has_slash_routes {
            return None;
        }
        // Probe "path/" from the stack: a 404 must not allocate just to be a 404.
        let mut buffer = [0_u8; 256];
        let owned;
        let with_slash = match buffer.get_mut(..=path.len()) {
            Some(probe) => {
                probe[..path.len()].copy_from_slice(path.as_bytes());
                probe[path.len()] = b'/';
                std::str::from_utf8(probe).ok()?
            }
            None => {
                owned = format!("{path}/");
                owned.as_str()
            }
        };
        self.is_redirect_target(with_slash)
            .then(|| with_slash.to_owned())
    }

    fn is_redirect_target(&self, alternative: &str) -> bool {
        let elsewhere = alternative.starts_with("//")
            || alternative.starts_with("/\\")
            || alternative.bytes().any(|byte| byte.is_ascii_control());
        !elsewhere && matches!(self.match_path(alternative), PathMatch::Matched(..))
    }
}
