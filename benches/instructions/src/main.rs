//! Instruction counts of Cello's hot paths, for the regression gate.
//!
//! Wall-clock benchmarks (criterion, `make bench-rust`) wobble by several percent on a
//! shared machine. The number of instructions a piece of code executes does not: the same
//! binary given the same input executes the same instructions whatever else runs. This
//! binary performs each benchmark's work inside one measured function; run under callgrind
//! (`scripts/instruction_gate.py` does it), only that function is counted.
//!
//! ```text
//! cello-instructions list          names, operations per region, descriptions
//! cello-instructions run [NAME...] run every benchmark (or those named) once
//! ```
//!
//! Without callgrind `run` just does the work, which is how to debug a benchmark.

mod http1;
mod json;
mod measure;
mod router;

use std::process::ExitCode;

use measure::Benchmark;

/// Every benchmark, in run order.
fn benchmarks() -> impl Iterator<Item = &'static Benchmark> {
    router::BENCHMARKS
        .iter()
        .chain(http1::BENCHMARKS)
        .chain(json::BENCHMARKS)
}

/// CPU features that change which code runs (simd-json, httparse and memchr pick their
/// SIMD paths at run time). Under callgrind these are the features valgrind's virtual
/// CPU reports, not the host's.
fn cpu_features() -> String {
    #[cfg(target_arch = "x86_64")]
    {
        let features = [
            ("sse4.2", std::arch::is_x86_feature_detected!("sse4.2")),
            (
                "pclmulqdq",
                std::arch::is_x86_feature_detected!("pclmulqdq"),
            ),
            ("avx2", std::arch::is_x86_feature_detected!("avx2")),
            ("bmi2", std::arch::is_x86_feature_detected!("bmi2")),
            ("avx512f", std::arch::is_x86_feature_detected!("avx512f")),
        ];
        features
            .iter()
            .filter(|(_, present)| *present)
            .map(|(name, _)| *name)
            .collect::<Vec<_>>()
            .join(",")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        format!("{} (features not probed)", std::env::consts::ARCH)
    }
}

/// Runs `benchmark` on a thread of its own.
///
/// The main thread's stack starts wherever the environment and arguments leave it, and
/// glibc's `memcpy`/`memcmp` take different paths for different alignments: a longer
/// `$PWD` changed `router/not_found` by 2%. A new thread's stack is a fresh mapping, so
/// the region sees the same addresses modulo the page on every machine. The gate also
/// runs one benchmark per process, so no benchmark inherits another's heap.
fn run_on_fresh_stack(benchmark: &'static Benchmark) {
    std::thread::Builder::new()
        .name(benchmark.name.to_owned())
        .stack_size(8 * 1024 * 1024)
        .spawn(move || (benchmark.run)(benchmark))
        .expect("spawn the benchmark thread")
        .join()
        .expect("the benchmark panicked");
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("list") => {
            for benchmark in benchmarks() {
                println!(
                    "{}\t{}\t{}",
                    benchmark.name, benchmark.operations, benchmark.description
                );
            }
            ExitCode::SUCCESS
        }
        Some("run") => {
            let names = &args[1..];
            if let Some(unknown) = names
                .iter()
                .find(|name| !benchmarks().any(|benchmark| benchmark.name == name.as_str()))
            {
                eprintln!("no benchmark named {unknown:?}; `cello-instructions list` names them");
                return ExitCode::from(2);
            }
            println!("cpu {}", cpu_features());
            for benchmark in benchmarks()
                .filter(|benchmark| names.is_empty() || names.iter().any(|n| n == benchmark.name))
            {
                run_on_fresh_stack(benchmark);
            }
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("usage: cello-instructions list | run [NAME...]");
            ExitCode::from(2)
        }
    }
}
