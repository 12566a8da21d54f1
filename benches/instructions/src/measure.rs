//! The measured region and the benchmark table entry.
//!
//! callgrind runs the binary with `--collect-atstart=no
//! --toggle-collect=cello_instructions_measured --dump-after=cello_instructions_measured`:
//! nothing is counted until [`cello_instructions_measured`] is entered, counting stops when
//! it returns, and each return writes one dump. Setup (building a router, binding a socket,
//! warming a connection) happens outside it and costs nothing in the figures.

use std::io::Write;

const PAGE: usize = 4096;

/// One benchmark of the table in `main.rs`.
pub struct Benchmark {
    /// Stable name: the key in `baseline.json`.
    pub name: &'static str,
    /// What the measured region does, for `list` and the README.
    pub description: &'static str,
    /// How many operations (lookups, requests, documents) the region performs; the gate
    /// reports instructions per operation.
    pub operations: u64,
    /// Sets up, then calls [`region`] exactly once with the measured work.
    pub run: fn(&Benchmark),
}

/// Runs `work` inside the measured region, announcing it on stdout first so the gate can
/// pair each callgrind dump with its benchmark.
pub fn region(benchmark: &Benchmark, work: &mut dyn FnMut()) {
    let mut stdout = std::io::stdout().lock();
    writeln!(
        stdout,
        "measured {} {}",
        benchmark.name, benchmark.operations
    )
    .expect("stdout");
    stdout.flush().expect("stdout");
    drop(stdout);
    cello_instructions_measured(work);
}

/// The only function callgrind counts. Unmangled, so the callgrind options name it exactly
/// whatever the symbol-mangling scheme, and never inlined, so it exists to be entered.
#[no_mangle]
#[inline(never)]
pub fn cello_instructions_measured(work: &mut dyn FnMut()) {
    work();
}

/// A copy of a benchmark input that starts on a page boundary.
///
/// glibc's `memcmp`/`memcpy` branch on where their operands sit relative to a page (the
/// page-crossing checks of the AVX2 versions). A string literal sits wherever the linker
/// put it, which moves whenever any code changes: `router/static` moved by 1% after an
/// unrelated rebuild. A heap copy at a page boundary is in the same place every time.
pub struct PageAligned {
    buffer: Vec<u8>,
    start: usize,
    len: usize,
}

impl PageAligned {
    pub fn new(text: &str) -> Self {
        let mut buffer = vec![0_u8; text.len() + PAGE];
        let start = (PAGE - buffer.as_ptr() as usize % PAGE) % PAGE;
        buffer[start..start + text.len()].copy_from_slice(text.as_bytes());
        Self {
            buffer,
            start,
            len: text.len(),
        }
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buffer[self.start..self.start + self.len])
            .expect("copied from a str")
    }
}
