//! Cello's router: maps a request's method and path to the value registered for it.
//!
//! Routes are registered on a [`RouterBuilder`] with Cello's path syntax (`/users/{id:int}`,
//! `/files/{*rest}`), then [`frozen`](RouterBuilder::freeze) into a [`Router`] that is
//! shared read-only between requests. A [`Lookup`] says everything the HTTP layer needs:
//! the value and converted [`Params`], an automatic HEAD or OPTIONS answer, a 405 with its
//! Allow header, a trailing-slash redirect, or a 404. Matching is done by `matchit`
//! (pinned exactly); this crate adds converters, percent-decoding, methods and errors that
//! name the handlers involved. It knows nothing of Python or of any async runtime.
//!
//! ```
//! use cello_router::{Lookup, Method, ParamValue, RouterBuilder};
//!
//! let mut builder = RouterBuilder::new();
//! builder.insert(&[Method::GET], "/users/{id:int}", "get_user", "users.get_user (app.py:12)")?;
//! let router = builder.freeze();
//!
//! let Lookup::Found { value, params, .. } = router.lookup(&Method::GET, "/users/42") else {
//!     panic!("expected a match");
//! };
//! assert_eq!(*value, "get_user");
//! assert_eq!(params.get("id"), Some(&ParamValue::Int(42)));
//! # Ok::<(), cello_router::RouteError>(())
//! ```

mod builder;
mod error;
mod params;
mod pattern;
mod route;
mod router;

pub use builder::RouterBuilder;
pub use error::RouteError;
pub use http::Method;
pub use params::{ParamValue, Params};
pub use route::RouteInfo;
pub use router::{Lookup, Router};

// Every code block in the README runs as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
