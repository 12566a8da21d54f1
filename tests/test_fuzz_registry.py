"""Every parser of outside input has a fuzz target: fuzz/targets.toml against the code.

The mechanism is described in fuzz/targets.toml and docs/fuzzing.md: functions named like
parsers are found by a grep over the Rust sources (test modules left out), each must be
covered by a target or exempted with a reason, and each target must exist.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REGISTRY = tomllib.loads((ROOT / "fuzz" / "targets.toml").read_text())
PARSER = re.compile(
    r"^\s*(?:pub(?:\([^)]*\))?\s+)?(?:async\s+)?fn\s+"
    r"([a-z0-9_]*(?:parse|decode|from_str|inflate|unescape)[a-z0-9_]*)\s*[<(]",
    re.MULTILINE,
)


def module_path(source: Path, src: Path, crate: str) -> str:
    parts = list(source.relative_to(src).with_suffix("").parts)
    if parts[-1] == "lib":
        parts.pop()
    return "::".join([crate, *parts])


def parsers_in_code() -> set[str]:
    found: set[str] = set()
    sources = [(path / "src", path.name) for path in sorted((ROOT / "crates").iterdir())]
    sources.append((ROOT / "cello-py" / "src", "cello-py"))
    for src, name in sources:
        crate = name.replace("-", "_")
        for source in src.rglob("*.rs"):
            if "tests" in source.relative_to(src).parts or source.name == "tests.rs":
                continue
            text = source.read_text()
            # What follows `#[cfg(test)]` is a test module (the house layout puts it last).
            text = text.split("#[cfg(test)]", 1)[0]
            for match in PARSER.finditer(text):
                found.add(f"{module_path(source, src, crate)}::{match.group(1)}")
    return found


def fuzz_bins() -> set[str]:
    manifest = tomllib.loads((ROOT / "fuzz" / "Cargo.toml").read_text())
    bins = set()
    for entry in manifest["bin"]:
        assert (ROOT / "fuzz" / entry["path"]).is_file(), entry
        bins.add(entry["name"])
    return bins


def test_every_parser_in_the_code_is_covered_or_exempt() -> None:
    listed = set(REGISTRY["covered"]) | set(REGISTRY["exempt"])
    missing = sorted(parsers_in_code() - listed)
    assert not missing, (
        f"parsers without a fuzz target: {missing}; add a target to fuzz/ and list it in "
        "fuzz/targets.toml [covered], or say in [exempt] why its input is trusted"
    )


def test_every_listed_parser_still_exists() -> None:
    stale = sorted((set(REGISTRY["covered"]) | set(REGISTRY["exempt"])) - parsers_in_code())
    assert not stale, f"fuzz/targets.toml lists functions the code no longer has: {stale}"


def test_every_exemption_gives_a_reason() -> None:
    assert all(len(reason) > 20 for reason in REGISTRY["exempt"].values())


def test_every_target_exists_with_a_seed_corpus() -> None:
    bins = fuzz_bins()
    named = set(REGISTRY["covered"].values()) | set(REGISTRY["manual"].values())
    assert named - bins == set(), f"targets missing from fuzz/Cargo.toml: {named - bins}"
    assert bins - named == set(), f"targets fuzz/targets.toml does not mention: {bins - named}"
    for target in bins:
        corpus = ROOT / "fuzz" / "corpus" / target
        assert corpus.is_dir() and any(corpus.iterdir()), f"no seed corpus for {target}"


def test_the_grep_finds_parsers() -> None:
    # A guard on the guard: a regex that silently matched nothing would pass everything.
    found = parsers_in_code()
    assert "cello_router::pattern::parse" in found
    assert "cello_http::websocket::frame::parse_header" in found
    assert len(found) >= 20
