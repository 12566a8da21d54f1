"""Lays out ``vendor/<crate>`` for each crate Cello carries a patch for: the crate as
published on crates.io plus our ``patches/<crate>-<version>-*.patch``.

    h2 0.4.20     HTTP/2 conformance (docs/h2-patches.md)
    hyper 1.12.0  safe batching of pipelined HTTP/1.1 responses
                  (docs/decisions.md, "Pipelined responses are flushed together")

The workspace ``Cargo.toml`` points ``[patch.crates-io]`` at these directories and cargo
refuses to resolve the workspace while one is missing. The in-tree build backend
(``cello_build``, so ``pip install .``, ``pip wheel .`` and ``python -m build``) and
``make vendor`` both run this before cargo. It needs only Python: the crate comes from
cargo's download cache when it is there, else from crates.io, and either way its sha256
must match the checksum pinned below (Cargo.lock records none for a ``[patch]`` path
dependency). Patches are applied strictly, as ``patch -p1 --fuzz=0`` would: every context
line must match, so a patch that no longer fits fails loudly instead of half-applying.

Re-running is cheap: a stamp file in each directory records the crate and patch
checksums, and a directory is rebuilt only when one changes (so cargo does not recompile
it for nothing).

    python build_backend/vendor_patched.py [ROOT]
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import sys
import tarfile
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

# name, version, sha256 of the .crate (from the crates.io index)
CRATES = (
    ("h2", "0.4.20", "7d29020232d6aa3fb1daca64c1127cf662cf97f254ae16c18c05b8ab635fc118"),
    ("hyper", "1.12.0", "2c3e324da4c95177d6291d4c8730197c0d1822f8a9766814a4a44fa5ab797c9c"),
)
STAMP = ".cello-patched"
DOWNLOAD = "https://static.crates.io/crates/{name}/{name}-{version}.crate"


class VendorError(RuntimeError):
    """A crate could not be fetched, verified or patched; the message says what to do."""


@dataclass
class Hunk:
    old_start: int  # 1-based line of the first old line, as in `@@ -old_start,...`
    old: list[str]
    new: list[str]


@dataclass
class FilePatch:
    path: str
    hunks: list[Hunk]


_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


def parse_patch(text: str) -> list[FilePatch]:
    """Parses a unified diff (the output of `git diff` or `diff -u`) into file patches.

    Lines before the first ``---`` are commentary. Only modifications are supported: our
    patches neither create nor delete files, and a patch that does is refused.
    """
    lines = text.splitlines(keepends=True)
    files: list[FilePatch] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if not (line.startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ ")):
            i += 1
            continue
        old_path, new_path = (
            line[4:].split("\t")[0].strip(),
            lines[i + 1][4:].split("\t")[0].strip(),
        )
        if "/dev/null" in (old_path, new_path):
            raise VendorError(
                f"patch creates or deletes {new_path}: only modifications are supported"
            )
        current = FilePatch(
            path=new_path.split("/", 1)[1] if "/" in new_path else new_path, hunks=[]
        )
        files.append(current)
        i += 2
        while i < len(lines) and (match := _HUNK.match(lines[i])):
            old_count = int(match.group(2) or 1)
            new_count = int(match.group(4) or 1)
            hunk = Hunk(old_start=int(match.group(1)), old=[], new=[])
            i += 1
            while (old_count or new_count) and i < len(lines):
                body = lines[i]
                tag, content = body[:1], body[1:]
                if body == "\n":  # an empty context line whose leading space was stripped
                    tag, content = " ", "\n"
                if tag == " ":
                    hunk.old.append(content)
                    hunk.new.append(content)
                    old_count -= 1
                    new_count -= 1
                elif tag == "-":
                    hunk.old.append(content)
                    old_count -= 1
                elif tag == "+":
                    hunk.new.append(content)
                    new_count -= 1
                elif tag != "\\":
                    raise VendorError(f"malformed hunk in {current.path}: {body!r}")
                i += 1
                if i < len(lines) and lines[i].startswith("\\"):  # "\ No newline at end of file"
                    _strip_newline(hunk, tag)
                    i += 1
            if old_count or new_count:
                raise VendorError(f"truncated hunk in {current.path}")
            current.hunks.append(hunk)
    if not files:
        raise VendorError("no file changes found in the patch")
    return files


def _strip_newline(hunk: Hunk, tag: str) -> None:
    targets = {" ": (hunk.old, hunk.new), "-": (hunk.old,), "+": (hunk.new,)}[tag]
    for side in targets:
        side[-1] = side[-1].rstrip("\n")


def apply_file_patch(original: list[str], patch: FilePatch) -> list[str]:
    """Applies every hunk with exact context. A hunk may sit at an offset from its stated
    line (as GNU patch allows) but no line of it may differ."""
    result = list(original)
    shift = 0  # lines added minus removed by the hunks applied so far
    for number, hunk in enumerate(patch.hunks, 1):
        expected = hunk.old_start - 1 + shift if hunk.old else hunk.old_start + shift
        at = _locate(result, hunk.old, expected)
        if at is None:
            raise VendorError(
                f"hunk {number} of {patch.path} does not apply: its context is not in the file "
                "(the patch must be ported to this version of the crate)"
            )
        result[at : at + len(hunk.old)] = hunk.new
        shift += len(hunk.new) - len(hunk.old)
    return result


def _locate(lines: list[str], needle: list[str], expected: int) -> int | None:
    width = len(needle)
    for distance in range(len(lines) + 1):
        for at in (expected - distance, expected + distance) if distance else (expected,):
            if 0 <= at <= len(lines) - width and lines[at : at + width] == needle:
                return at
    return None


def apply_patch(directory: Path, text: str) -> None:
    """Applies a unified diff inside `directory` (paths stripped of their first part)."""
    for file_patch in parse_patch(text):
        target = directory / file_patch.path
        if not target.is_file():
            raise VendorError(f"the patch changes {file_patch.path}, which the crate does not have")
        original = target.read_text(encoding="utf-8").splitlines(keepends=True)
        target.write_text("".join(apply_file_patch(original, file_patch)), encoding="utf-8")


def _locked_version(root: Path, name: str) -> str | None:
    lock = (root / "Cargo.lock").read_text(encoding="utf-8")
    match = re.search(rf'\[\[package\]\]\nname = "{re.escape(name)}"\nversion = "([^"]+)"', lock)
    return match.group(1) if match else None


def _crate_bytes(name: str, version: str, sha256: str) -> bytes:
    cargo_home = Path(os.environ.get("CARGO_HOME", Path.home() / ".cargo"))
    for cached in sorted(cargo_home.glob(f"registry/cache/*/{name}-{version}.crate")):
        data = cached.read_bytes()
        if hashlib.sha256(data).hexdigest() == sha256:
            return data
    url = DOWNLOAD.format(name=name, version=version)
    last_error: Exception | None = None
    for attempt in range(4):
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                data = bytes(response.read())
            break
        except OSError as error:
            last_error = error
            time.sleep(1 + attempt)
    else:
        raise VendorError(f"could not download {url}: {last_error}") from last_error
    if hashlib.sha256(data).hexdigest() != sha256:
        raise VendorError(f"the downloaded {name}-{version}.crate does not match sha256 {sha256}")
    return data


def vendor(root: Path, name: str, version: str, sha256: str) -> bool:
    """Makes ``vendor/<name>`` the patched crate. Returns whether anything was rebuilt."""
    patches = sorted((root / "patches").glob(f"{name}-{version}-*.patch"))
    if not patches:
        raise VendorError(f"no patches/{name}-{version}-*.patch")
    locked = _locked_version(root, name)
    if locked is not None and locked != version:
        raise VendorError(
            f"Cargo.lock uses {name} {locked}, but the patches are for {version}: port "
            f"{', '.join(p.name for p in patches)} to {locked} and update CRATES in {__file__}"
        )
    texts = [p.read_text(encoding="utf-8") for p in patches]
    wanted = f"{name}-{version} {sha256} {hashlib.sha256(''.join(texts).encode()).hexdigest()}"
    dest = root / "vendor" / name
    stamp = dest / STAMP
    if stamp.is_file() and stamp.read_text(encoding="utf-8").strip() == wanted:
        stamp.touch()  # newer than its prerequisites, for make
        return False

    data = _crate_bytes(name, version, sha256)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent) as work:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
            archive.extractall(work, filter="data")
        crate_dir = Path(work) / f"{name}-{version}"
        for patch_file, text in zip(patches, texts):
            try:
                apply_patch(crate_dir, text)
            except VendorError as error:
                raise VendorError(f"{patch_file.name}: {error}") from error
        (crate_dir / STAMP).write_text(wanted + "\n", encoding="utf-8")
        shutil.rmtree(dest, ignore_errors=True)
        crate_dir.rename(dest)
    print(f"vendor: vendor/{name} is {name} {version} with {', '.join(p.name for p in patches)}")
    return True


def vendor_all(root: Path) -> None:
    for name, version, sha256 in CRATES:
        vendor(root, name, version, sha256)


def main(argv: list[str]) -> int:
    root = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent.parent
    try:
        vendor_all(root)
    except VendorError as error:
        print(f"vendor: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
