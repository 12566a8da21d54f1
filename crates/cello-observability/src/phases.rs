//! The steps of a sampled request that become child spans of its server span: the
//! engine notes when each started and ended ([`Phases::record`]) while it serves,
//! and the server span turns them into spans when it ends. Unsampled requests carry
//! no [`Phases`], so the steps cost one `Option` check each.

use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// One step: its span name, when it ran, and the span's attributes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Phase {
    pub name: &'static str,
    pub start: SystemTime,
    pub end: SystemTime,
    pub attributes: Vec<(&'static str, String)>,
}

/// The steps recorded for one request; clones share them (the request's extensions
/// hold one, the server span another).
#[derive(Clone, Debug, Default)]
pub struct Phases(Arc<Mutex<Vec<Phase>>>);

impl Phases {
    /// Notes that `name` ran from `start` until now.
    pub fn record(&self, name: &'static str, start: SystemTime) {
        self.record_with(name, start, Vec::new());
    }

    /// Notes that `name` ran from `start` until now, with its span's `attributes` (a
    /// GraphQL resolver's field and path, say).
    pub fn record_with(
        &self,
        name: &'static str,
        start: SystemTime,
        attributes: Vec<(&'static str, String)>,
    ) {
        let end = SystemTime::now();
        if let Ok(mut phases) = self.0.lock() {
            phases.push(Phase {
                name,
                start,
                end,
                attributes,
            });
        }
    }

    /// The steps recorded so far, in the order they ended.
    pub fn take(&self) -> Vec<Phase> {
        self.0
            .lock()
            .map(|mut phases| std::mem::take(&mut *phases))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_the_steps_and_take_empties_them() {
        let phases = Phases::default();
        let seen_by_span = phases.clone();
        let start = SystemTime::now();
        phases.record("cello.handler", start);
        phases.record_with(
            "graphql.resolve",
            start,
            vec![("graphql.field.path", "a.0".into())],
        );
        let taken = seen_by_span.take();
        assert_eq!(
            taken.iter().map(|p| p.name).collect::<Vec<_>>(),
            ["cello.handler", "graphql.resolve"]
        );
        assert_eq!(
            taken[1].attributes,
            [("graphql.field.path", "a.0".to_owned())]
        );
        assert!(taken.iter().all(|p| p.end >= p.start));
        assert!(phases.take().is_empty());
    }
}
