#!/usr/bin/env python3
"""Micro-benchmark of JSON encode/decode: Cello's codec against json, orjson and msgspec.

    python benches/jsonbench.py [--repeat 7] [--min-time 0.2] [--sizes small,medium,large]

Run it with the interpreter where the Cello wheel is installed; libraries that are not
installed there (Cello's ``cello.json_dumps``/``cello.json_loads``, orjson, msgspec) are
reported as skipped. Method, as pyperf and ``timeit`` advise: calibrate a loop count that
runs at least ``--min-time`` seconds, repeat it, keep the fastest repeat (the others only
add scheduler and cache noise, never speed).

Every encoder is measured to *bytes*, which is what a server writes: the stdlib row is
``json.dumps(obj).encode()``. Every decoder starts from bytes.
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys
import timeit
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness.documents import document  # needs the path above

Encoder = Callable[[object], bytes]
Decoder = Callable[[bytes], object]


@dataclass(frozen=True)
class Codec:
    name: str
    encode: Encoder
    decode: Decoder
    version: str


def _codecs() -> tuple[list[Codec], list[str]]:
    found = [
        Codec(
            "json",
            # Default arguments: json.dumps then reuses its cached C encoder; any keyword
            # argument would build a new JSONEncoder per call and slow the row down.
            lambda obj: json.dumps(obj).encode(),
            json.loads,
            f"stdlib {platform.python_version()}",
        )
    ]
    missing = []
    try:
        cello = importlib.import_module("cello")
        version = getattr(cello, "__version__", "?")
        found.insert(0, Codec("cello", cello.json_dumps, cello.json_loads, version))
    except (ImportError, AttributeError) as error:
        missing.append(f"cello ({error.__class__.__name__}: {error})")
    try:
        import orjson

        found.append(Codec("orjson", orjson.dumps, orjson.loads, orjson.__version__))
    except ImportError:
        missing.append("orjson (pip install orjson)")
    try:
        import msgspec

        found.append(
            Codec("msgspec", msgspec.json.encode, msgspec.json.decode, msgspec.__version__)
        )
    except ImportError:
        missing.append("msgspec (pip install msgspec)")
    return found, missing


DOCUMENTS: dict[str, Callable[[], object]] = {
    "small": lambda: {"message": "Hello, World!"},
    "medium": lambda: document(4 * 1024),
    "large": lambda: document(1024 * 1024),
}


def best_seconds_per_call(call: Callable[[], object], repeat: int, min_time: float) -> float:
    timer = timeit.Timer(call)
    number, elapsed = timer.autorange()
    if elapsed < min_time:
        number = max(1, int(number * min_time / max(elapsed, 1e-9)))
    return min(timer.repeat(repeat=repeat, number=number)) / number


def _format_time(seconds: float) -> str:
    if seconds < 1e-6:
        return f"{seconds * 1e9:.0f} ns"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.2f} µs"
    return f"{seconds * 1e3:.2f} ms"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=7, help="repeats; the fastest is kept")
    parser.add_argument("--min-time", type=float, default=0.2, help="seconds per repeat, at least")
    parser.add_argument("--sizes", default="small,medium,large", help="documents to run")
    args = parser.parse_args(argv)

    codecs, missing = _codecs()
    print(f"Python {platform.python_version()} ({sys.executable})")
    for codec in codecs:
        print(f"  {codec.name:<8} {codec.version}")
    for name in missing:
        print(f"  skipped: {name}")

    header = f"{'document':<20} {'op':<7}" + "".join(f"{c.name:>20}" for c in codecs)
    print("\n" + header + "\n" + "-" * len(header))
    for size in (s.strip() for s in args.sizes.split(",")):
        obj = DOCUMENTS[size]()
        reference = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()
        label = f"{size} ({len(reference):,} B)"
        for codec in codecs:  # a codec that does not round-trip would make its timing moot
            if codec.decode(codec.encode(obj)) != obj or codec.decode(reference) != obj:
                print(f"{codec.name} does not round-trip the {size} document", file=sys.stderr)
                return 1
        for op in ("encode", "decode"):
            times = {}
            for codec in codecs:
                call = (
                    partial(codec.encode, obj)
                    if op == "encode"
                    else partial(codec.decode, reference)
                )
                times[codec.name] = best_seconds_per_call(call, args.repeat, args.min_time)
            row = f"{label:<20} {op:<7}"
            for codec in codecs:
                speedup = times["json"] / times[codec.name]
                row += f"{_format_time(times[codec.name]) + f' ({speedup:.1f}x)':>20}"
            print(row)
            label = ""
    print("\n(n.nx) = speed relative to the stdlib json module; higher is faster.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
