//! Process metrics of the whole server (`process_*`), read from `/proc` for every
//! live worker of a [`Region`]. On systems without `/proc` only the start time and
//! the worker count are reported.

use std::fmt::Write as _;

use crate::exposition::format_value;
use crate::region::Region;

/// What `/proc/<pid>` says about one process.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ProcessSample {
    pub cpu_seconds: f64,
    pub resident_bytes: u64,
    pub virtual_bytes: u64,
    pub open_fds: u64,
}

fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as f64
    } else {
        100.0
    }
}

fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(size).unwrap_or(4096)
}

/// Reads `/proc/<pid>/stat` and `/proc/<pid>/fd`; `None` if the process is gone or
/// there is no `/proc`.
pub fn sample(pid: u32) -> Option<ProcessSample> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may contain spaces: fields start after it.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state); utime is field 14, stime 15, vsize 23, rss 24.
    let number = |field: usize| fields.get(field - 3)?.parse::<u64>().ok();
    let ticks = clock_ticks();
    let open_fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|entries| entries.count() as u64)
        .unwrap_or(0);
    Some(ProcessSample {
        cpu_seconds: (number(14)? + number(15)?) as f64 / ticks,
        resident_bytes: number(24)? * page_size(),
        virtual_bytes: number(23)?,
        open_fds,
    })
}

/// The CPU seconds a process has used so far (for [`Region::release_worker`]).
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    sample(pid).map(|sample| sample.cpu_seconds)
}

fn max_fds() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid, writable rlimit.
    let status = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &raw mut limit) };
    (status == 0).then_some(limit.rlim_cur)
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// Appends the `process_*` families (summed over the live workers, CPU time of
/// exited workers included so the counter never goes backwards) and
/// `<namespace>_workers`, `<namespace>_worker_resident_memory_bytes{worker}`.
pub fn render(region: &Region, namespace: &str, out: &mut String) {
    let workers = region.workers();
    let samples: Vec<(u32, ProcessSample)> = workers
        .iter()
        .filter_map(|(_, pid)| Some((*pid, sample(*pid)?)))
        .collect();
    let sum = samples
        .iter()
        .fold(ProcessSample::default(), |total, (_, s)| ProcessSample {
            cpu_seconds: total.cpu_seconds + s.cpu_seconds,
            resident_bytes: total.resident_bytes + s.resident_bytes,
            virtual_bytes: total.virtual_bytes + s.virtual_bytes,
            open_fds: total.open_fds + s.open_fds,
        });
    if !samples.is_empty() {
        family(
            out,
            "process_cpu_seconds_total",
            "counter",
            "User and system CPU time of the server's workers, live and exited, in seconds.",
        );
        let cpu = sum.cpu_seconds + region.retired_cpu_seconds();
        let _ = writeln!(out, "process_cpu_seconds_total {}", format_value(cpu));
        family(
            out,
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory of the live workers together, in bytes.",
        );
        let _ = writeln!(out, "process_resident_memory_bytes {}", sum.resident_bytes);
        family(
            out,
            "process_virtual_memory_bytes",
            "gauge",
            "Virtual memory of the live workers together, in bytes.",
        );
        let _ = writeln!(out, "process_virtual_memory_bytes {}", sum.virtual_bytes);
        family(
            out,
            "process_open_fds",
            "gauge",
            "Open file descriptors of the live workers together.",
        );
        let _ = writeln!(out, "process_open_fds {}", sum.open_fds);
    }
    if let Some(limit) = max_fds() {
        family(
            out,
            "process_max_fds",
            "gauge",
            "Maximum number of open file descriptors of a worker.",
        );
        let _ = writeln!(out, "process_max_fds {}", format_value(limit as f64));
    }
    family(
        out,
        "process_start_time_seconds",
        "gauge",
        "Start time of the server since the Unix epoch, in seconds.",
    );
    let _ = writeln!(
        out,
        "process_start_time_seconds {}",
        format_value(region.created_unix_seconds())
    );
    let prefix = if namespace.is_empty() {
        String::new()
    } else {
        format!("{namespace}_")
    };
    family(
        out,
        &format!("{prefix}workers"),
        "gauge",
        "Live worker processes.",
    );
    let _ = writeln!(out, "{prefix}workers {}", workers.len());
    if !samples.is_empty() {
        let name = format!("{prefix}worker_resident_memory_bytes");
        family(
            out,
            &name,
            "gauge",
            "Resident memory of each live worker, in bytes.",
        );
        for (pid, sample) in &samples {
            let _ = writeln!(out, "{name}{{worker=\"{pid}\"}} {}", sample.resident_bytes);
        }
    }
}
