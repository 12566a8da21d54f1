//! Registration: [`RouterBuilder`] collects routes, rejects conflicts with both owners named,
//! and [`freeze`](RouterBuilder::freeze)s into a read-only [`Router`].

use std::collections::HashMap;

use http::Method;
use matchit::InsertError;

use crate::error::RouteError;
use crate::pattern::{self, PatternError};
use crate::route::{PathEntry, RouteInfo, RouteRecord};
use crate::router::Router;

/// Collects routes; build one per application, then [`freeze`](Self::freeze) it.
pub struct RouterBuilder<T> {
    matcher: matchit::Router<usize>,
    /// matchit route string -> index into `entries`, to find the owner of a conflict.
    entry_by_route: HashMap<String, usize>,
    entries: Vec<PathEntry>,
    records: Vec<RouteRecord>,
    values: Vec<T>,
}

impl<T> Default for RouterBuilder<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> RouterBuilder<T> {
    /// An empty builder.
    pub fn new() -> Self {
        Self {
            matcher: matchit::Router::new(),
            entry_by_route: HashMap::new(),
            entries: Vec::new(),
            records: Vec::new(),
            values: Vec::new(),
        }
    }

    /// Registers `value` for every method in `methods` on `path`.
    ///
    /// `owner` is a human name for the handler, e.g. "users.get_user (app.py:12)", used in
    /// errors. Either every method is registered or, on error, none is.
    pub fn insert(
        &mut self,
        methods: &[Method],
        path: &str,
        value: T,
        owner: &str,
    ) -> Result<(), RouteError> {
        let invalid = |reason: String| RouteError::InvalidPattern {
            path: path.into(),
            owner: owner.into(),
            reason: reason.into(),
        };
        if !path.starts_with('/') {
            return Err(RouteError::InvalidPath {
                path: path.into(),
                owner: owner.into(),
            });
        }
        if methods.is_empty() {
            return Err(RouteError::NoMethods {
                path: path.into(),
                owner: owner.into(),
            });
        }
        let pattern = pattern::parse(path).map_err(|error| match error {
            PatternError::UnknownConverter(converter) => RouteError::UnknownConverter {
                converter: converter.into(),
                path: path.into(),
                owner: owner.into(),
            },
            PatternError::Invalid(reason) => invalid(reason),
        })?;

        let entry = match self.entry_by_route.get(&pattern.route) {
            Some(&entry) => {
                let existing = &self.entries[entry];
                if *existing.params != *pattern.params {
                    return Err(self.conflict(entry, &methods[0], path, owner));
                }
                if let Some(method) = methods.iter().find(|m| existing.route_for(m).is_some()) {
                    return Err(self.conflict(entry, method, path, owner));
                }
                entry
            }
            None => {
                let entry = self.entries.len();
                match self.matcher.insert(pattern.route.clone(), entry) {
                    Ok(()) => {}
                    Err(InsertError::Conflict { with }) => {
                        return Err(match self.entry_by_route.get(&with) {
                            Some(&existing) => self.conflict(existing, &methods[0], path, owner),
                            None => invalid(format!(
                                "it conflicts with an earlier route shaped like {with}: \
                                 change one of the paths"
                            )),
                        });
                    }
                    Err(error) => return Err(invalid(describe_insert_error(&error))),
                }
                self.entry_by_route.insert(pattern.route, entry);
                self.entries.push(PathEntry::new(pattern.params));
                entry
            }
        };

        let value_index = self.values.len();
        self.values.push(value);
        for method in methods {
            if self.entries[entry].route_for(method).is_some() {
                continue; // the same method listed twice in one call
            }
            self.entries[entry]
                .methods
                .push((method.clone(), self.records.len()));
            self.records.push(RouteRecord {
                method: method.clone(),
                path: path.into(),
                owner: owner.into(),
                value: value_index,
            });
        }
        Ok(())
    }

    /// Every registered route in registration order (automatic HEAD/OPTIONS not included).
    pub fn routes(&self) -> impl Iterator<Item = RouteInfo<'_>> {
        self.records.iter().map(RouteRecord::info)
    }

    /// Builds the read-only router: Allow headers are computed here, once.
    pub fn freeze(self) -> Router<T> {
        let mut entries = self.entries;
        for entry in &mut entries {
            entry.compute_allow();
        }
        let has_slash_routes = self.entry_by_route.keys().any(|route| route.ends_with('/'));
        Router::new(
            self.matcher,
            entries,
            self.records,
            self.values,
            has_slash_routes,
        )
    }

    /// The conflict error against `entry`, naming the route of the same method if there is
    /// one, else the first route registered on that path.
    fn conflict(&self, entry: usize, method: &Method, path: &str, owner: &str) -> RouteError {
        let existing = &self.entries[entry];
        let record = existing
            .route_for(method)
            .unwrap_or_else(|| existing.methods[0].1);
        let record = &self.records[record];
        RouteError::Conflict {
            method: method.clone(),
            path: path.into(),
            owner: owner.into(),
            existing_method: record.method.clone(),
            existing_path: record.path.clone(),
            existing_owner: record.owner.clone(),
        }
    }
}

fn describe_insert_error(error: &InsertError) -> String {
    match error {
        InsertError::InvalidParamSegment => {
            "only one parameter is allowed per path segment: split it, e.g. /{a}-x/{b}".into()
        }
        InsertError::InvalidCatchAll => {
            "a catch-all ({*name} or {name:path}) must be the last segment of the path".into()
        }
        InsertError::InvalidParam => {
            "parameters must have a name and matching braces; write {{ or }} for literal braces"
                .into()
        }
        other => format!("{other}"),
    }
}
