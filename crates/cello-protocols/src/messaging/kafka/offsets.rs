//! Which offsets may be committed: per partition, the offsets handed out and not yet
//! processed. The commit point is the lowest of them (or one past the highest handed out
//! when none is pending), so an offset is committed only once it and every offset before
//! it were processed, whatever order the handlers finish in.

use std::collections::{BTreeSet, HashMap};

#[derive(Debug, Default)]
struct Partition {
    pending: BTreeSet<i64>,
    /// One past the highest offset handed out.
    next: i64,
    /// The commit point stored last.
    stored: i64,
}

/// The pending offsets of one subscription's partitions.
#[derive(Debug, Default)]
pub(crate) struct Offsets {
    partitions: HashMap<i32, Partition>,
}

impl Offsets {
    /// `offset` of `partition` was handed out.
    pub(crate) fn begin(&mut self, partition: i32, offset: i64) {
        let entry = self
            .partitions
            .entry(partition)
            .or_insert_with(|| Partition {
                // Where reading started: committing it would change nothing.
                stored: offset,
                ..Partition::default()
            });
        entry.pending.insert(offset);
        entry.next = entry.next.max(offset + 1);
    }

    /// `offset` was processed; the new commit point (the next offset to read) when it
    /// moved. None for an offset not pending: its partition was revoked meanwhile.
    pub(crate) fn done(&mut self, partition: i32, offset: i64) -> Option<i64> {
        let entry = self.partitions.get_mut(&partition)?;
        if !entry.pending.remove(&offset) {
            return None;
        }
        let point = entry.pending.first().copied().unwrap_or(entry.next);
        (point > entry.stored).then(|| {
            entry.stored = point;
            point
        })
    }

    /// The partitions went to another member: what is pending there is theirs now.
    pub(crate) fn revoke(&mut self, partitions: impl IntoIterator<Item = i32>) {
        for partition in partitions {
            self.partitions.remove(&partition);
        }
    }

    /// Offsets handed out and not processed, over all partitions.
    pub(crate) fn pending(&self) -> usize {
        self.partitions
            .values()
            .map(|entry| entry.pending.len())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_commit_point_waits_for_every_earlier_offset() {
        let mut offsets = Offsets::default();
        for offset in 10..14 {
            offsets.begin(0, offset);
        }
        assert_eq!(offsets.done(0, 12), None); // 10 and 11 are still pending
        assert_eq!(offsets.done(0, 10), Some(11));
        assert_eq!(offsets.done(0, 11), Some(13));
        assert_eq!(offsets.done(0, 13), Some(14));
        assert_eq!(offsets.done(0, 13), None); // twice
        assert_eq!(offsets.pending(), 0);
    }

    #[test]
    fn partitions_are_independent_and_revocation_forgets() {
        let mut offsets = Offsets::default();
        offsets.begin(0, 5);
        offsets.begin(1, 7);
        offsets.revoke([0]);
        assert_eq!(offsets.done(0, 5), None);
        assert_eq!(offsets.done(1, 7), Some(8));
        assert_eq!(offsets.done(2, 0), None);
    }
}
