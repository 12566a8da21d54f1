//! The tables shared by the builder and the frozen router: one [`PathEntry`] per distinct
//! path (one matchit route), one [`RouteRecord`] per registered method of it.

use http::Method;

use crate::pattern::ParamSpec;

/// A registered route, as listed by `routes()` (for OpenAPI and route listings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteInfo<'a> {
    /// The method it was registered for (automatic HEAD and OPTIONS are not listed).
    pub method: &'a Method,
    /// The path pattern as registered, converters included, e.g. `/users/{id:int}`.
    pub path: &'a str,
    /// Who registered it, e.g. `users.get_user (app.py:12)`.
    pub owner: &'a str,
}

/// One `insert` call's method: which path entry and which value it points at.
#[derive(Debug)]
pub(crate) struct RouteRecord {
    pub(crate) method: Method,
    pub(crate) path: Box<str>,
    pub(crate) owner: Box<str>,
    pub(crate) value: usize,
}

impl RouteRecord {
    pub(crate) fn info(&self) -> RouteInfo<'_> {
        RouteInfo {
            method: &self.method,
            path: &self.path,
            owner: &self.owner,
        }
    }
}

/// Everything registered under one matchit route.
#[derive(Debug)]
pub(crate) struct PathEntry {
    /// Converters by parameter position (matchit reports parameters in path order).
    pub(crate) params: Box<[ParamSpec]>,
    /// `(method, index into the route records)`; a handful at most, so a linear scan.
    pub(crate) methods: Vec<(Method, usize)>,
    /// The Allow header value, filled in by `freeze`.
    pub(crate) allow: Box<str>,
}

impl PathEntry {
    pub(crate) fn new(params: Vec<ParamSpec>) -> Self {
        Self {
            params: params.into_boxed_slice(),
            methods: Vec::new(),
            allow: Box::from(""),
        }
    }

    /// The record registered for exactly `method`.
    pub(crate) fn route_for(&self, method: &Method) -> Option<usize> {
        self.methods
            .iter()
            .find(|(registered, _)| registered == method)
            .map(|&(_, record)| record)
    }

    /// The converter spec of the parameter at `position` called `name`.
    pub(crate) fn param(&self, position: usize, name: &str) -> Option<&ParamSpec> {
        match self.params.get(position) {
            Some(spec) if *spec.name == *name => Some(spec),
            // Not expected with matchit 0.8.6; kept so a reordering upstream stays correct.
            _ => self.params.iter().find(|spec| *spec.name == *name),
        }
    }

    /// Methods sorted alphabetically, HEAD when GET is there, OPTIONS always.
    pub(crate) fn compute_allow(&mut self) {
        let mut names: Vec<&str> = self.methods.iter().map(|(m, _)| m.as_str()).collect();
        if self.route_for(&Method::GET).is_some() {
            names.push(Method::HEAD.as_str());
        }
        names.push(Method::OPTIONS.as_str());
        names.sort_unstable();
        names.dedup();
        self.allow = names.join(", ").into_boxed_str();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_is_sorted_with_head_and_options() {
        let mut entry = PathEntry::new(Vec::new());
        entry.methods.push((Method::POST, 0));
        entry.methods.push((Method::GET, 1));
        entry.compute_allow();
        assert_eq!(&*entry.allow, "GET, HEAD, OPTIONS, POST");
    }

    #[test]
    fn allow_does_not_repeat_explicit_head_or_options() {
        let mut entry = PathEntry::new(Vec::new());
        for (i, method) in [Method::OPTIONS, Method::HEAD, Method::DELETE]
            .into_iter()
            .enumerate()
        {
            entry.methods.push((method, i));
        }
        entry.compute_allow();
        assert_eq!(&*entry.allow, "DELETE, HEAD, OPTIONS");
    }
}
