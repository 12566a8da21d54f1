//! One anonymous shared mapping that holds every metric of a server: families, series
//! and worker slots, all in atomics.
//!
//! The supervisor creates the region before it forks, so every worker (and every
//! replacement of a worker) writes into the same memory: a scrape answered by any
//! worker sees the whole server, and a worker that exits takes none of its counts
//! with it. There is no lock: a slot is claimed with a compare-and-swap, filled, and
//! published with a release store; readers skip slots that are not published.
//!
//! The region has a fixed size (see the `MAX_*` constants). Names and label sets are
//! placed by hashing, so two processes registering the same series at the same time
//! find the same slot.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use crate::error::MetricsError;

/// Metric families (names) the region holds.
pub const MAX_FAMILIES: usize = 512;
/// Series (label sets of a family, per worker for gauges) the region holds.
pub const MAX_SERIES: usize = 16_384;
/// Worker processes tracked at once (live ones; slots are reused).
pub const MAX_WORKERS: usize = 256;
/// Most bucket bounds of a histogram (the `+Inf` bucket comes on top).
pub const MAX_BOUNDS: usize = 30;
/// Longest metric name, bytes.
pub const NAME_CAPACITY: usize = 128;
/// Longest help text, bytes (longer ones are cut at a character boundary).
pub const HELP_CAPACITY: usize = 256;
/// Longest rendered label set (`a="x",b="y"`), bytes.
pub const LABELS_CAPACITY: usize = 256;
/// Value cells of a series: count, sum, then one per bucket (histograms); a counter
/// or gauge uses the first.
pub const CELLS: usize = MAX_BOUNDS + 3;

/// The worker field of a series shared by all workers (counters, histograms).
pub const SHARED: u32 = u32::MAX;

const MAGIC: u64 = 0x4345_4c4c_4f4d_4554; // "CELLOMET"
const EMPTY: u32 = 0;
const WRITING: u32 = 1;
const READY: u32 = 2;
/// A claimer that died between claiming and publishing leaves a slot `WRITING` for
/// ever; after this many looks the slot is treated as someone else's.
const PATIENCE: u32 = 1 << 20;

/// What a family is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Counter = 1,
    Gauge = 2,
    Histogram = 3,
}

impl Kind {
    fn from_u32(value: u32) -> Option<Self> {
        match value {
            1 => Some(Self::Counter),
            2 => Some(Self::Gauge),
            3 => Some(Self::Histogram),
            _ => None,
        }
    }
}

/// How the per-worker values of a gauge are combined on a scrape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GaugeMode {
    /// The sum over the live workers (in-flight requests, open connections).
    Sum = 0,
    /// The largest value among the live workers.
    Max = 1,
    /// The smallest value among the live workers.
    Min = 2,
    /// One series per live worker, labelled `worker="<pid>"`.
    All = 3,
}

impl GaugeMode {
    fn from_u32(value: u32) -> Self {
        match value {
            1 => Self::Max,
            2 => Self::Min,
            3 => Self::All,
            _ => Self::Sum,
        }
    }
}

/// Text kept in atomics (one `u64` per eight bytes), so no byte is read while
/// another process writes it without an atomic in between.
#[repr(C)]
struct Text<const WORDS: usize> {
    len: AtomicU32,
    words: [AtomicU64; WORDS],
}

impl<const WORDS: usize> Text<WORDS> {
    fn store(&self, text: &[u8]) {
        let len = text.len().min(WORDS * 8);
        for (index, chunk) in text[..len].chunks(8).enumerate() {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.words[index].store(u64::from_le_bytes(word), Ordering::Relaxed);
        }
        self.len
            .store(u32::try_from(len).unwrap_or(0), Ordering::Relaxed);
    }

    fn load(&self) -> Vec<u8> {
        let len = (self.len.load(Ordering::Relaxed) as usize).min(WORDS * 8);
        let mut bytes = Vec::with_capacity(len.next_multiple_of(8));
        for word in &self.words[..len.div_ceil(8)] {
            bytes.extend_from_slice(&word.load(Ordering::Relaxed).to_le_bytes());
        }
        bytes.truncate(len);
        bytes
    }

    fn equals(&self, text: &[u8]) -> bool {
        self.load() == text
    }
}

#[repr(C)]
struct Header {
    magic: AtomicU64,
    created_unix_micros: AtomicU64,
    /// CPU time of workers that have exited, microseconds (process_cpu_seconds_total
    /// must not go backwards when a worker is replaced).
    retired_cpu_micros: AtomicU64,
    /// Series that did not fit (the table was full).
    dropped_series: AtomicU64,
}

#[repr(C)]
struct WorkerSlot {
    /// 0: free.
    pid: AtomicU64,
}

#[repr(C)]
struct FamilySlot {
    state: AtomicU32,
    kind: AtomicU32,
    mode: AtomicU32,
    bound_count: AtomicU32,
    name: Text<{ NAME_CAPACITY / 8 }>,
    help: Text<{ HELP_CAPACITY / 8 }>,
    bounds: [AtomicU64; MAX_BOUNDS],
}

#[repr(C)]
struct SeriesSlot {
    state: AtomicU32,
    family: AtomicU32,
    worker: AtomicU32,
    hash: AtomicU64,
    labels: Text<{ LABELS_CAPACITY / 8 }>,
    cells: [AtomicU64; CELLS],
}

#[repr(C)]
struct Layout {
    header: Header,
    workers: [WorkerSlot; MAX_WORKERS],
    families: [FamilySlot; MAX_FAMILIES],
    series: [SeriesSlot; MAX_SERIES],
}

/// A family as registered: what a scrape needs to render it.
#[derive(Clone, Debug, PartialEq)]
pub struct FamilyInfo {
    pub name: String,
    pub help: String,
    pub kind: Kind,
    pub mode: GaugeMode,
    pub bounds: Vec<f64>,
}

/// Index of a family in the region.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FamilyId(pub u32);

/// Index of a series in the region.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SeriesId(pub u32);

/// A handle on the shared mapping. Cheap to copy; the mapping is never unmapped (a
/// server keeps its metrics for its whole life, and forked children inherit it).
#[derive(Clone, Copy)]
pub struct Region {
    layout: &'static Layout,
}

impl std::fmt::Debug for Region {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Region").finish_non_exhaustive()
    }
}

fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in *part {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        hash ^= 0xff;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// Waits while a slot is being written; whether it got published.
fn settled(state: &AtomicU32) -> u32 {
    let mut looks = 0;
    loop {
        let value = state.load(Ordering::Acquire);
        if value != WRITING || looks >= PATIENCE {
            return value;
        }
        looks += 1;
        std::hint::spin_loop();
    }
}

fn add_f64(cell: &AtomicU64, amount: f64) {
    let mut current = cell.load(Ordering::Relaxed);
    loop {
        let next = (f64::from_bits(current) + amount).to_bits();
        match cell.compare_exchange_weak(current, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return,
            Err(actual) => current = actual,
        }
    }
}

impl Region {
    /// Maps a new, zeroed region shared with the processes this one forks later.
    ///
    /// # Errors
    /// When the kernel refuses the mapping.
    pub fn create() -> Result<Self, MetricsError> {
        let size = std::mem::size_of::<Layout>();
        // SAFETY: an anonymous mapping with no address hint; the result is checked.
        let address = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                size,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if address == libc::MAP_FAILED {
            return Err(MetricsError::Map(std::io::Error::last_os_error()));
        }
        // SAFETY: the mapping is `size` bytes, page-aligned (so aligned for `Layout`),
        // zero-filled (a valid `Layout`: every field is an atomic integer, zero is a
        // valid value of each), and never unmapped, so `'static` holds.
        let layout: &'static Layout = unsafe { &*address.cast::<Layout>() };
        layout.header.magic.store(MAGIC, Ordering::Relaxed);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| u64::try_from(since.as_micros()).unwrap_or(0));
        layout
            .header
            .created_unix_micros
            .store(now, Ordering::Relaxed);
        Ok(Self { layout })
    }

    /// Seconds since the epoch when the region (the server) was created.
    pub fn created_unix_seconds(&self) -> f64 {
        self.layout
            .header
            .created_unix_micros
            .load(Ordering::Relaxed) as f64
            / 1e6
    }

    /// Registers (or finds) a family. The same name registered again with the same
    /// kind returns the same family.
    ///
    /// # Errors
    /// A name used with another kind or other buckets, too long a name, too many
    /// buckets, or a full family table.
    pub fn family(
        &self,
        name: &str,
        help: &str,
        kind: Kind,
        mode: GaugeMode,
        bounds: &[f64],
    ) -> Result<FamilyId, MetricsError> {
        if name.len() > NAME_CAPACITY {
            return Err(MetricsError::NameTooLong(name.to_owned()));
        }
        if bounds.len() > MAX_BOUNDS {
            return Err(MetricsError::TooManyBuckets(bounds.len()));
        }
        let help = truncate(help, HELP_CAPACITY);
        let start = fnv1a(&[name.as_bytes()]) as usize % MAX_FAMILIES;
        for step in 0..MAX_FAMILIES {
            let index = (start + step) % MAX_FAMILIES;
            let slot = &self.layout.families[index];
            let state = match slot.state.compare_exchange(
                EMPTY,
                WRITING,
                Ordering::Acquire,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    slot.kind.store(kind as u32, Ordering::Relaxed);
                    slot.mode.store(mode as u32, Ordering::Relaxed);
                    slot.name.store(name.as_bytes());
                    slot.help.store(help.as_bytes());
                    for (cell, bound) in slot.bounds.iter().zip(bounds) {
                        cell.store(bound.to_bits(), Ordering::Relaxed);
                    }
                    slot.bound_count
                        .store(u32::try_from(bounds.len()).unwrap_or(0), Ordering::Relaxed);
                    slot.state.store(READY, Ordering::Release);
                    return Ok(FamilyId(u32::try_from(index).unwrap_or(0)));
                }
                Err(_) => settled(&slot.state),
            };
            if state == READY && slot.name.equals(name.as_bytes()) {
                let info = self.family_info_at(index).ok_or(MetricsError::Corrupt)?;
                if info.kind != kind || (kind == Kind::Histogram && info.bounds != bounds) {
                    return Err(MetricsError::Conflict(name.to_owned()));
                }
                return Ok(FamilyId(u32::try_from(index).unwrap_or(0)));
            }
        }
        Err(MetricsError::FamiliesFull)
    }

    fn family_info_at(&self, index: usize) -> Option<FamilyInfo> {
        let slot = &self.layout.families[index];
        if slot.state.load(Ordering::Acquire) != READY {
            return None;
        }
        let count = (slot.bound_count.load(Ordering::Relaxed) as usize).min(MAX_BOUNDS);
        Some(FamilyInfo {
            name: String::from_utf8_lossy(&slot.name.load()).into_owned(),
            help: String::from_utf8_lossy(&slot.help.load()).into_owned(),
            kind: Kind::from_u32(slot.kind.load(Ordering::Relaxed))?,
            mode: GaugeMode::from_u32(slot.mode.load(Ordering::Relaxed)),
            bounds: slot.bounds[..count]
                .iter()
                .map(|bound| f64::from_bits(bound.load(Ordering::Relaxed)))
                .collect(),
        })
    }

    /// What is known of a family.
    pub fn family_info(&self, family: FamilyId) -> Option<FamilyInfo> {
        self.family_info_at(family.0 as usize)
    }

    /// Every published family, with its id.
    pub fn families(&self) -> Vec<(FamilyId, FamilyInfo)> {
        (0..MAX_FAMILIES)
            .filter_map(|index| {
                let info = self.family_info_at(index)?;
                Some((FamilyId(u32::try_from(index).ok()?), info))
            })
            .collect()
    }

    /// Finds or creates the series of `family` with the rendered label set `labels`
    /// (`method="GET",route="/"`), for `worker` (`SHARED` for counters and
    /// histograms). `None` when the table is full (counted in `dropped_series`).
    pub fn series(&self, family: FamilyId, worker: u32, labels: &str) -> Option<SeriesId> {
        let labels = labels.as_bytes();
        if labels.len() > LABELS_CAPACITY {
            self.layout
                .header
                .dropped_series
                .fetch_add(1, Ordering::Relaxed);
            return None;
        }
        let hash = fnv1a(&[&family.0.to_le_bytes(), &worker.to_le_bytes(), labels]);
        let start = hash as usize % MAX_SERIES;
        for step in 0..MAX_SERIES {
            let index = (start + step) % MAX_SERIES;
            let slot = &self.layout.series[index];
            let state = match slot.state.compare_exchange(
                EMPTY,
                WRITING,
                Ordering::Acquire,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    slot.family.store(family.0, Ordering::Relaxed);
                    slot.worker.store(worker, Ordering::Relaxed);
                    slot.hash.store(hash, Ordering::Relaxed);
                    slot.labels.store(labels);
                    slot.state.store(READY, Ordering::Release);
                    return Some(SeriesId(u32::try_from(index).ok()?));
                }
                Err(_) => settled(&slot.state),
            };
            if state == READY
                && slot.hash.load(Ordering::Relaxed) == hash
                && slot.family.load(Ordering::Relaxed) == family.0
                && slot.worker.load(Ordering::Relaxed) == worker
                && slot.labels.equals(labels)
            {
                return Some(SeriesId(u32::try_from(index).ok()?));
            }
        }
        self.layout
            .header
            .dropped_series
            .fetch_add(1, Ordering::Relaxed);
        None
    }

    fn cells(&self, series: SeriesId) -> &'static [AtomicU64; CELLS] {
        &self.layout.series[series.0 as usize % MAX_SERIES].cells
    }

    /// Adds to a counter (or gauge).
    pub fn add(&self, series: SeriesId, amount: f64) {
        add_f64(&self.cells(series)[0], amount);
    }

    /// Sets a gauge.
    pub fn set(&self, series: SeriesId, value: f64) {
        self.cells(series)[0].store(value.to_bits(), Ordering::Relaxed);
    }

    /// The value of a counter or gauge series.
    pub fn value(&self, series: SeriesId) -> f64 {
        f64::from_bits(self.cells(series)[0].load(Ordering::Relaxed))
    }

    /// Records one observation in a histogram series whose family has `bounds`.
    pub fn observe(&self, series: SeriesId, bounds: &[f64], value: f64) {
        let cells = self.cells(series);
        let bucket = bounds
            .iter()
            .position(|bound| value <= *bound)
            .unwrap_or(bounds.len());
        cells[2 + bucket.min(MAX_BOUNDS)].fetch_add(1, Ordering::Relaxed);
        add_f64(&cells[1], value);
        cells[0].fetch_add(1, Ordering::Relaxed);
    }

    /// A histogram series' `(count, sum, per-bucket counts incl. +Inf)`.
    pub fn histogram(&self, series: SeriesId, bucket_count: usize) -> (u64, f64, Vec<u64>) {
        let cells = self.cells(series);
        let buckets = cells[2..2 + (bucket_count + 1).min(MAX_BOUNDS + 1)]
            .iter()
            .map(|cell| cell.load(Ordering::Relaxed))
            .collect();
        (
            cells[0].load(Ordering::Relaxed),
            f64::from_bits(cells[1].load(Ordering::Relaxed)),
            buckets,
        )
    }

    /// Every published series: `(id, family, worker, labels)`.
    pub fn all_series(&self) -> Vec<(SeriesId, FamilyId, u32, String)> {
        let mut found = Vec::new();
        for (index, slot) in self.layout.series.iter().enumerate() {
            if slot.state.load(Ordering::Acquire) != READY {
                continue;
            }
            let Ok(id) = u32::try_from(index) else {
                continue;
            };
            found.push((
                SeriesId(id),
                FamilyId(slot.family.load(Ordering::Relaxed)),
                slot.worker.load(Ordering::Relaxed),
                String::from_utf8_lossy(&slot.labels.load()).into_owned(),
            ));
        }
        found
    }

    /// Takes a worker slot for process `pid`, zeroing the gauges a previous holder
    /// of the slot left behind.
    ///
    /// # Errors
    /// When every slot is taken.
    pub fn claim_worker(&self, pid: u32) -> Result<u32, MetricsError> {
        for (index, slot) in self.layout.workers.iter().enumerate() {
            if slot
                .pid
                .compare_exchange(0, u64::from(pid), Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
            {
                let index = u32::try_from(index).unwrap_or(0);
                for series in &self.layout.series {
                    if series.state.load(Ordering::Acquire) == READY
                        && series.worker.load(Ordering::Relaxed) == index
                    {
                        for cell in &series.cells {
                            cell.store(0, Ordering::Relaxed);
                        }
                    }
                }
                return Ok(index);
            }
        }
        Err(MetricsError::WorkersFull)
    }

    /// Frees the slot of an exited worker and keeps its CPU time.
    pub fn release_worker(&self, pid: u32, cpu_seconds: f64) {
        for slot in &self.layout.workers {
            if slot
                .pid
                .compare_exchange(u64::from(pid), 0, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
            {
                // f64 → u64 microseconds: CPU time is non-negative and far below 2^64.
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let micros = (cpu_seconds.max(0.0) * 1e6) as u64;
                self.layout
                    .header
                    .retired_cpu_micros
                    .fetch_add(micros, Ordering::Relaxed);
                return;
            }
        }
    }

    /// `(slot, pid)` of every live worker.
    pub fn workers(&self) -> Vec<(u32, u32)> {
        self.layout
            .workers
            .iter()
            .enumerate()
            .filter_map(|(index, slot)| {
                let pid = slot.pid.load(Ordering::Acquire);
                (pid != 0).then(|| Some((u32::try_from(index).ok()?, u32::try_from(pid).ok()?)))?
            })
            .collect()
    }

    /// CPU seconds of the workers that have exited.
    pub fn retired_cpu_seconds(&self) -> f64 {
        self.layout
            .header
            .retired_cpu_micros
            .load(Ordering::Relaxed) as f64
            / 1e6
    }

    /// Series refused because the table was full.
    pub fn dropped_series(&self) -> u64 {
        self.layout.header.dropped_series.load(Ordering::Relaxed)
    }
}

fn truncate(text: &str, capacity: usize) -> &str {
    if text.len() <= capacity {
        return text;
    }
    let mut end = capacity;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}
