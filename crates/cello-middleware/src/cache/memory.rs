//! The in-memory cache backend: per worker process, bounded in entries and in bytes,
//! least recently used forgotten first.
//!
//! Entries are grouped by base key (one group per URL): the group holds the `Vary`
//! names of its answers and up to [`MAX_VARIANTS`] variants. A tag index maps each tag
//! to the groups holding an entry with it; an invalidation drops those whole groups.
//! Expired entries are dropped when looked up, or when the budget needs room.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use http::{HeaderMap, HeaderName};

use super::backend::CacheBackend;
use super::entry::CachedResponse;
use super::key::variant;
use crate::clock::Clock;
use crate::error::StoreError;
use crate::lru::Lru;

/// The most variants of one URL kept (one per `Accept-Encoding` or `Accept-Language`
/// seen); past it the oldest goes, so a header with endless values cannot push every
/// other URL out.
pub(crate) const MAX_VARIANTS: usize = 16;

pub(crate) struct MemoryCache {
    inner: RefCell<Inner>,
}

struct Inner {
    groups: Lru<Rc<[u8]>, Group>,
    tags: HashMap<Box<str>, HashSet<Rc<[u8]>>>,
    entries: usize,
    bytes: usize,
    max_entries: usize,
    max_bytes: usize,
}

struct Group {
    vary: Box<[HeaderName]>,
    variants: Vec<Variant>,
}

struct Variant {
    key: Box<[u8]>,
    response: Rc<CachedResponse>,
    size: usize,
}

impl MemoryCache {
    pub(crate) fn new(max_entries: usize, max_bytes: usize) -> Self {
        Self {
            inner: RefCell::new(Inner {
                groups: Lru::new(),
                tags: HashMap::new(),
                entries: 0,
                bytes: 0,
                max_entries,
                max_bytes,
            }),
        }
    }

    #[cfg(test)]
    pub(crate) fn bytes(&self) -> usize {
        self.inner.borrow().bytes
    }

    /// How many entries are kept (expired ones not yet dropped included).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.inner.borrow().entries
    }
}

impl CacheBackend for MemoryCache {
    async fn lookup(
        &self,
        base: &[u8],
        request: &HeaderMap,
        clock: &Clock,
    ) -> Option<Rc<CachedResponse>> {
        let mut guard = self.inner.borrow_mut();
        let inner = &mut *guard;
        let group = inner.groups.get_mut(base)?;
        let key = variant(&group.vary, request);
        let index = group.variants.iter().position(|v| v.key == key)?;
        let response = &group.variants[index].response;
        if response.is_fresh(clock.now()) {
            return Some(response.clone());
        }
        inner.remove_variant(base, index);
        None
    }

    async fn store(
        &self,
        base: Box<[u8]>,
        vary: Vec<HeaderName>,
        request: &HeaderMap,
        entry: CachedResponse,
    ) {
        let mut guard = self.inner.borrow_mut();
        let inner = &mut *guard;
        let key = variant(&vary, request);
        let size = entry.size(base.len() + key.len());
        if let Some(group) = inner.groups.get_mut(&*base) {
            if *group.vary != *vary {
                // The route changed what it varies on: the old variants cannot be found.
                inner.remove_group(&base);
            } else if let Some(index) = group.variants.iter().position(|v| v.key == key) {
                inner.remove_variant(&base, index);
            } else if group.variants.len() >= MAX_VARIANTS {
                inner.remove_variant(&base, 0);
            }
        }
        let base: Rc<[u8]> = base.into();
        for tag in &entry.tags {
            inner
                .tags
                .entry(tag.clone())
                .or_default()
                .insert(base.clone());
        }
        let variant = Variant {
            key,
            response: Rc::new(entry),
            size,
        };
        match inner.groups.get_mut(&*base) {
            Some(group) => group.variants.push(variant),
            None => {
                inner.groups.insert(
                    base,
                    Group {
                        vary: vary.into_boxed_slice(),
                        variants: vec![variant],
                    },
                );
            }
        }
        inner.entries += 1;
        inner.bytes += size;
        while inner.entries > inner.max_entries || inner.bytes > inner.max_bytes {
            let Some((oldest, group)) = inner.groups.pop_oldest() else {
                break;
            };
            inner.forget(&oldest, group);
        }
    }

    async fn invalidate(&self, tags: &[&str]) -> Result<usize, StoreError> {
        let mut inner = self.inner.borrow_mut();
        let before = inner.entries;
        for tag in tags {
            let Some(groups) = inner.tags.remove(*tag) else {
                continue;
            };
            for base in groups {
                inner.remove_group(&base);
            }
        }
        Ok(before - inner.entries)
    }

    async fn clear(&self) -> Result<(), StoreError> {
        let mut inner = self.inner.borrow_mut();
        inner.groups = Lru::new();
        inner.tags.clear();
        inner.entries = 0;
        inner.bytes = 0;
        Ok(())
    }
}

impl Inner {
    fn remove_group(&mut self, base: &[u8]) {
        if let Some(group) = self.groups.remove(base) {
            self.forget(base, group);
        }
    }

    /// Accounts for a group taken out of the map and drops it from the tag index.
    fn forget(&mut self, base: &[u8], group: Group) {
        for variant in group.variants {
            self.entries -= 1;
            self.bytes -= variant.size;
            for tag in &variant.response.tags {
                self.untag(tag, base);
            }
        }
    }

    fn remove_variant(&mut self, base: &[u8], index: usize) {
        let Some(group) = self.groups.get_mut(base) else {
            return;
        };
        let removed = group.variants.remove(index);
        let empty = group.variants.is_empty();
        // A tag stays indexed while another variant of the group carries it.
        let orphaned: Vec<Box<str>> = removed
            .response
            .tags
            .iter()
            .filter(|tag| {
                !group
                    .variants
                    .iter()
                    .any(|other| other.response.tags.contains(*tag))
            })
            .cloned()
            .collect();
        if empty {
            self.groups.remove(base);
        }
        self.entries -= 1;
        self.bytes -= removed.size;
        for tag in &orphaned {
            self.untag(tag, base);
        }
    }

    fn untag(&mut self, tag: &str, base: &[u8]) {
        if let Some(groups) = self.tags.get_mut(tag) {
            groups.remove(base);
            if groups.is_empty() {
                self.tags.remove(tag);
            }
        }
    }
}
