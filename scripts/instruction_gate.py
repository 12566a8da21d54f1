#!/usr/bin/env python3
"""Instruction-count regression gate for Cello's hot paths (callgrind).

Builds ``benches/instructions`` (crate ``cello-instructions``) with the ``testing`` profile,
runs each of its benchmarks in its own process under ``valgrind --tool=callgrind``, counting
only the measured region, and compares the instructions per operation with the committed
``benches/instructions/baseline.json``.

Usage::

    scripts/instruction_gate.py check     # fail if a benchmark costs > 3% more than the baseline
    scripts/instruction_gate.py update    # measure and rewrite the baseline
    scripts/instruction_gate.py run       # measure and print, compare nothing

Counts depend on the compiler (rustc + LLVM) and on the CPU features valgrind reports
(simd-json, httparse and memchr choose their SIMD code at run time). The baseline records
both. When they differ from this machine's, ``check`` still measures and prints the
comparison, but a regression cannot be told from a compiler change, so it warns loudly and
exits 0; ``--strict-environment`` makes that an error instead.

Needs valgrind (Debian/Ubuntu: ``apt-get install valgrind``) and cargo; stdlib only.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "benches" / "instructions" / "baseline.json"
PACKAGE = "cello-instructions"
# The profile `make build` and CI use: optimised, no fat LTO, so warm builds take seconds.
PROFILE = "testing"
# The function benches/instructions/src/measure.rs exports unmangled: callgrind counts
# nothing outside it and writes one dump each time it returns.
REGION = "cello_instructions_measured"
DEFAULT_THRESHOLD = 3.0

__all__ = ["main"]


@dataclass(frozen=True)
class Measurement:
    """One benchmark's count: instructions in its region and operations performed there."""

    name: str
    instructions: int
    operations: int

    @property
    def per_operation(self) -> float:
        """Instructions per operation (lookup, request, document)."""
        return self.instructions / self.operations


def fail(message: str) -> None:
    """Prints `message` to stderr and exits with status 2 (the gate could not run)."""
    print(f"instruction gate: {message}", file=sys.stderr)
    sys.exit(2)


def build() -> Path:
    """Builds the benchmark binary and returns its path."""
    print(f"instruction gate: cargo build -p {PACKAGE} --profile {PROFILE}", file=sys.stderr)
    command = [
        "cargo",
        "build",
        "--quiet",
        "--package",
        PACKAGE,
        "--profile",
        PROFILE,
        "--message-format=json-render-diagnostics",
    ]
    result = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, text=True, check=False)
    if result.returncode != 0:
        fail(f"{' '.join(command)} failed (exit {result.returncode})")
    for line in result.stdout.splitlines():
        message = json.loads(line)
        if (
            message.get("reason") == "compiler-artifact"
            and message.get("executable")
            and message["target"]["name"] == PACKAGE
        ):
            return Path(message["executable"])
    fail(f"cargo built no executable named {PACKAGE}")
    raise AssertionError("unreachable")


def benchmark_names(binary: Path) -> list[str]:
    """The benchmarks the binary defines, in its order."""
    listing = subprocess.run([binary, "list"], stdout=subprocess.PIPE, text=True, check=True).stdout
    return [line.split("\t")[0] for line in listing.splitlines() if line]


def measure_one(binary: Path, valgrind: str, name: str) -> tuple[Measurement, str]:
    """Runs one benchmark in its own callgrind process; returns its count and CPU features."""
    with tempfile.TemporaryDirectory(prefix="cello-callgrind-") as directory:
        command = [
            valgrind,
            "--tool=callgrind",
            "--collect-atstart=no",
            f"--toggle-collect={REGION}",
            f"--dump-after={REGION}",
            f"--callgrind-out-file={directory}/callgrind.out",
            str(binary),
            "run",
            name,
        ]
        # A clean environment: no VALGRIND_OPTS, and no HOME, so no ~/.valgrindrc; the
        # working directory is empty, so no ./.valgrindrc either.
        result = subprocess.run(
            command,
            cwd=directory,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"},
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            fail(f"{name}: exit {result.returncode} under callgrind\n{result.stderr}")
        cpu = ""
        operations = None
        for line in result.stdout.splitlines():
            if line.startswith("cpu "):
                cpu = line.removeprefix("cpu ")
            elif line.startswith("measured "):
                _, measured, count = line.split()
                if measured != name:
                    fail(f"asked for {name}, the binary measured {measured}")
                operations = int(count)
        dumps = sorted(Path(directory).glob("callgrind.out.*"))
        if operations is None or len(dumps) != 1:
            fail(f"{name}: expected one measured region, got {len(dumps)} callgrind dumps")
        summary = re.search(r"^summary: (\d+)$", dumps[0].read_text(), re.MULTILINE)
        if summary is None:
            fail(f"{name}: no summary line in {dumps[0].name}")
        assert summary is not None and operations is not None
        return Measurement(name, int(summary.group(1)), operations), cpu


def toolchain() -> dict[str, str]:
    """rustc's version, commit and LLVM, and valgrind's version."""
    verbose = subprocess.run(
        ["rustc", "-vV"], cwd=ROOT, stdout=subprocess.PIPE, text=True, check=True
    ).stdout
    fields = dict(line.split(": ", 1) for line in verbose.splitlines() if ": " in line)
    valgrind = subprocess.run(
        ["valgrind", "--version"], stdout=subprocess.PIPE, text=True, check=True
    ).stdout.strip()
    return {
        "rustc": f"{fields.get('release', '?')} ({fields.get('commit-hash', '?')[:9]})",
        "llvm": fields.get("LLVM version", "?"),
        "host": fields.get("host", "?"),
        "valgrind": valgrind,
    }


def measure_all(names: list[str] | None) -> tuple[dict[str, str], list[Measurement]]:
    """Builds, then measures `names` (or every benchmark); returns environment and counts.

    The environment includes the binary's path (key ``binary``), which is not recorded.
    """
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        fail("valgrind is not installed (Debian/Ubuntu: apt-get install valgrind)")
    assert valgrind is not None
    binary = build()
    known = benchmark_names(binary)
    selected = names or known
    unknown = [name for name in selected if name not in known]
    if unknown:
        fail(f"no benchmark named {', '.join(unknown)}; there are: {', '.join(known)}")
    # Processes are independent and the count does not depend on load, so use the cores.
    workers = min(len(selected), os.cpu_count() or 1, 4)
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(lambda name: measure_one(binary, valgrind, name), selected))
    environment = toolchain()
    environment["cpu_features_under_valgrind"] = results[0][1]
    environment["profile"] = PROFILE
    environment["binary"] = str(binary)
    return environment, [measurement for measurement, _ in results]


def print_counts(measurements: list[Measurement]) -> None:
    """A table of the counts, no comparison."""
    width = max(len(m.name) for m in measurements)
    print(f"{'benchmark':<{width}}  {'Ir/op':>10}  {'ops':>5}  {'Ir total':>11}")
    for m in measurements:
        print(
            f"{m.name:<{width}}  {m.per_operation:>10.1f}  {m.operations:>5}  {m.instructions:>11}"
        )


def write_baseline(environment: dict[str, str], measurements: list[Measurement]) -> None:
    """Rewrites baseline.json from `measurements`."""
    environment = {key: value for key, value in environment.items() if key != "binary"}
    document = {
        "about": (
            "Instructions per operation of each hot-path benchmark under callgrind. "
            "Written by `scripts/instruction_gate.py update`; compared by `check`. "
            "See benches/instructions/README.md."
        ),
        "environment": environment,
        "benchmarks": {
            m.name: {
                "instructions_per_operation": round(m.per_operation, 1),
                "instructions": m.instructions,
                "operations": m.operations,
            }
            for m in measurements
        },
    }
    BASELINE.write_text(json.dumps(document, indent=2) + "\n")
    print(f"instruction gate: wrote {BASELINE.relative_to(ROOT)}")


def environment_differences(recorded: dict[str, str], current: dict[str, str]) -> list[str]:
    """The environment fields that change instruction counts and differ from the baseline."""
    keys = ["rustc", "llvm", "host", "cpu_features_under_valgrind", "profile"]
    return [
        f"{key}: baseline {recorded.get(key, '?')!r}, here {current.get(key, '?')!r}"
        for key in keys
        if recorded.get(key) != current.get(key)
    ]


def compare(
    baseline: dict[str, dict[str, float]],
    measurements: list[Measurement],
    threshold: float,
) -> tuple[list[str], list[str], list[str]]:
    """Prints the comparison table; returns (regressed, improved, unmatched) names."""
    current = {m.name: m for m in measurements}
    names = list(current) + [name for name in baseline if name not in current]
    width = max(len(name) for name in names)
    regressed: list[str] = []
    improved: list[str] = []
    unmatched: list[str] = []
    header = f"{'benchmark':<{width}}  {'baseline Ir/op':>14}  {'now Ir/op':>10}  {'change':>8}"
    print(f"{header}  verdict")
    for name in names:
        if name not in baseline:
            unmatched.append(name)
            now = current[name].per_operation
            print(f"{name:<{width}}  {'-':>14}  {now:>10.1f}  {'':>8}  NEW: not in the baseline")
            continue
        before = float(baseline[name]["instructions_per_operation"])
        if name not in current:
            unmatched.append(name)
            print(f"{name:<{width}}  {before:>14.1f}  {'-':>10}  {'':>8}  GONE: not measured")
            continue
        now = current[name].per_operation
        change = (now / before - 1) * 100
        if change > threshold:
            verdict = f"REGRESSED (> +{threshold:g}%)"
            regressed.append(name)
        elif change < -threshold:
            verdict = f"improved (< -{threshold:g}%)"
            improved.append(name)
        else:
            verdict = "ok"
        print(f"{name:<{width}}  {before:>14.1f}  {now:>10.1f}  {change:>+7.2f}%  {verdict}")
    return regressed, improved, unmatched


def check(arguments: argparse.Namespace) -> int:
    """The gate: 1 when a benchmark regressed beyond the threshold, else 0."""
    if not BASELINE.exists():
        fail(f"no baseline at {BASELINE.relative_to(ROOT)}; create it with `update`")
    recorded = json.loads(BASELINE.read_text())
    environment, measurements = measure_all(arguments.names)
    baseline = recorded["benchmarks"]
    if arguments.names:
        baseline = {name: baseline[name] for name in arguments.names if name in baseline}
    differences = environment_differences(recorded["environment"], environment)
    if differences:
        banner = "!" * 78
        print(banner)
        print("!! The baseline was recorded in another environment; instruction counts are")
        print("!! not comparable across compilers or CPU feature sets:")
        for difference in differences:
            print(f"!!   {difference}")
        if arguments.strict_environment:
            print("!! --strict-environment: failing. Rerun `update` with this toolchain.")
        else:
            print("!! Comparing anyway, for information; THE GATE DOES NOT FAIL ON THIS RUN.")
            print("!! Rerun `scripts/instruction_gate.py update` with this toolchain and commit")
            print("!! benches/instructions/baseline.json to re-arm it.")
        print(banner)
    print(f"instructions per operation, callgrind Ir, threshold {arguments.threshold:g}%:")
    regressed, improved, unmatched = compare(baseline, measurements, arguments.threshold)
    if improved:
        print(
            f"\n{len(improved)} benchmark(s) improved beyond {arguments.threshold:g}%: "
            "run `scripts/instruction_gate.py update` and commit the baseline to keep the gain."
        )
    if differences:
        if arguments.strict_environment:
            return 1
        verdict = f" ({', '.join(regressed)} would have failed)" if regressed else ""
        print(f"\ninstruction gate: NOT ENFORCED, the environment differs (see above){verdict}")
        return 0
    if unmatched:
        print(
            "\nThe baseline and the benchmarks disagree (NEW/GONE above): run "
            "`scripts/instruction_gate.py update` and commit benches/instructions/baseline.json."
        )
    if regressed:
        print(
            f"\nFAILED: {len(regressed)} benchmark(s) execute more than {arguments.threshold:g}% "
            f"more instructions than the baseline: {', '.join(regressed)}.\n"
            "See where the instructions go with\n"
            f"  valgrind --tool=callgrind --collect-atstart=no --toggle-collect={REGION} \\\n"
            f"    --callgrind-out-file=callgrind.out {environment['binary']} run {regressed[0]}\n"
            "  callgrind_annotate callgrind.out\n"
            "If the cost is intended, run `scripts/instruction_gate.py update` and commit the "
            "baseline, saying why."
        )
    if regressed or unmatched:
        return 1
    print("\ninstruction gate: passed")
    return 0


def main() -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["check", "update", "run"])
    parser.add_argument("names", nargs="*", help="benchmarks to measure (default: all)")
    parser.add_argument(
        "--threshold",
        type=float,
        default=DEFAULT_THRESHOLD,
        help=f"percent of extra instructions that fails `check` (default {DEFAULT_THRESHOLD:g})",
    )
    parser.add_argument(
        "--strict-environment",
        action="store_true",
        help="make `check` fail when rustc, LLVM or the CPU features differ from the baseline's",
    )
    arguments = parser.parse_args()
    if arguments.command == "check":
        return check(arguments)
    if arguments.names and arguments.command == "update":
        fail("`update` measures every benchmark; name none")
    environment, measurements = measure_all(arguments.names)
    print_counts(measurements)
    if arguments.command == "update":
        write_baseline(environment, measurements)
    return 0


if __name__ == "__main__":
    sys.exit(main())
