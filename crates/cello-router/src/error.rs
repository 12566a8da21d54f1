//! The one error type of this crate: everything that can go wrong while registering a route.
//!
//! Lookups never fail with an error (a miss is a [`Lookup`](crate::Lookup) variant), so every
//! message here is about a route the user wrote, names its owner, and says how to fix it.

use http::Method;

/// A route could not be registered.
///
/// Text fields are `Box<str>` rather than `String` to keep the error small enough that
/// returning it in a `Result` costs little (clippy's `result_large_err`, here and in callers).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RouteError {
    /// The path does not start with `/`.
    #[error("route path {path:?} registered by {owner} must start with '/': write \"/{path}\"")]
    InvalidPath {
        /// The path as the user wrote it.
        path: Box<str>,
        /// Who registered it.
        owner: Box<str>,
    },

    /// The route was registered with an empty list of methods.
    #[error(
        "route {path} registered by {owner} lists no HTTP methods: pass at least one, e.g. GET"
    )]
    NoMethods {
        /// The path as the user wrote it.
        path: Box<str>,
        /// Who registered it.
        owner: Box<str>,
    },

    /// A parameter names a converter that does not exist, e.g. `{id:integer}`.
    #[error(
        "unknown converter '{converter}' in route {path} registered by {owner}: \
         valid converters are int, float, uuid, path and str (e.g. {{id:int}})"
    )]
    UnknownConverter {
        /// The converter name as written.
        converter: Box<str>,
        /// The path as the user wrote it.
        path: Box<str>,
        /// Who registered it.
        owner: Box<str>,
    },

    /// The pattern is malformed: bad braces, bad parameter name, catch-all not last, ...
    #[error("invalid route {path} registered by {owner}: {reason}")]
    InvalidPattern {
        /// The path as the user wrote it.
        path: Box<str>,
        /// Who registered it.
        owner: Box<str>,
        /// What is wrong and how to fix it.
        reason: Box<str>,
    },

    /// The route collides with one registered earlier.
    #[error(
        "{}",
        conflict_message(method, path, owner, existing_method, existing_path, existing_owner)
    )]
    Conflict {
        /// The method being registered.
        method: Method,
        /// The path being registered, as written.
        path: Box<str>,
        /// Who tried to register it.
        owner: Box<str>,
        /// The method of the route registered earlier.
        existing_method: Method,
        /// The path of the route registered earlier, as written.
        existing_path: Box<str>,
        /// Who registered the earlier route.
        existing_owner: Box<str>,
    },
}

fn conflict_message(
    method: &Method,
    path: &str,
    owner: &str,
    existing_method: &Method,
    existing_path: &str,
    existing_owner: &str,
) -> String {
    if method == existing_method && path == existing_path {
        format!(
            "route {method} {path} is already registered by {existing_owner}; \
             cannot register it again for {owner}"
        )
    } else {
        format!(
            "route {method} {path} registered by {owner} conflicts with route \
             {existing_method} {existing_path} already registered by {existing_owner}: \
             the same position of a path must use one parameter name, one converter and one \
             kind (segment or catch-all) for every method; rename or change one of the paths"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_is_small_enough_for_results() {
        assert!(std::mem::size_of::<RouteError>() <= 128);
    }

    #[test]
    fn same_route_conflict_names_both_owners() {
        let error = RouteError::Conflict {
            method: Method::GET,
            path: "/users/{id}".into(),
            owner: "users.other (app.py:30)".into(),
            existing_method: Method::GET,
            existing_path: "/users/{id}".into(),
            existing_owner: "users.get_user (app.py:12)".into(),
        };
        assert_eq!(
            error.to_string(),
            "route GET /users/{id} is already registered by users.get_user (app.py:12); \
             cannot register it again for users.other (app.py:30)"
        );
    }

    #[test]
    fn invalid_path_suggests_the_fix() {
        let error = RouteError::InvalidPath {
            path: "users".into(),
            owner: "f".into(),
        };
        assert!(error.to_string().contains("write \"/users\""), "{error}");
    }
}
