#!/usr/bin/env bash
# Builds vendor/<crate> for each crate Cello carries a patch for: the crate as published
# on crates.io plus our patches/<crate>-<version>-*.patch.
#
#   h2 0.4.20     HTTP/2 conformance (docs/h2-patches.md)
#   hyper 1.12.0  safe batching of pipelined HTTP/1.1 responses
#                 (docs/decisions.md, "Pipelined responses are flushed together")
#
# The workspace Cargo.toml points `[patch.crates-io]` at these directories, and cargo
# refuses to resolve the workspace while one is missing, so `make vendor` (a prerequisite
# of every Makefile target that runs cargo) runs this first.
#
# A crate comes from cargo's download cache when it is there, else from crates.io; either
# way its sha256 must match the checksum pinned below (Cargo.lock no longer records it: a
# [patch] path dependency has no registry checksum). Re-running is cheap: each stamp file
# records the crate and patch checksums, and a directory is rebuilt only when one changes
# (so cargo does not recompile it for nothing).
set -euo pipefail
cd "$(dirname "$0")/.."

# name version sha256-of-the-.crate (from the crates.io index)
CRATES=(
    "h2 0.4.20 7d29020232d6aa3fb1daca64c1127cf662cf97f254ae16c18c05b8ab635fc118"
    "hyper 1.12.0 2c3e324da4c95177d6291d4c8730197c0d1822f8a9766814a4a44fa5ab797c9c"
)

command -v patch >/dev/null || { echo "vendor-patched: the \`patch\` program is required" >&2; exit 1; }

vendor() {
    local name=$1 version=$2 sha256=$3
    local dest=vendor/$name
    local stamp=$dest/.cello-patched
    local patches=(patches/"$name-$version"-*.patch)
    [[ -f ${patches[0]} ]] || { echo "vendor-patched: no patches/$name-$version-*.patch" >&2; exit 1; }

    if ! grep -qx "version = \"$version\"" <(grep -A1 -x "name = \"$name\"" Cargo.lock); then
        echo "vendor-patched: Cargo.lock does not use $name $version; port ${patches[*]} to the" \
            "new version and update CRATES in $0" >&2
        exit 1
    fi

    local wanted="$name-$version $sha256 $(cat "${patches[@]}" | sha256sum | cut -d' ' -f1)"
    if [[ -f $stamp && "$(cat "$stamp")" == "$wanted" ]]; then
        touch "$stamp" # newer than its prerequisites, for make
        return
    fi

    local work
    work=$(mktemp -d)
    # shellcheck disable=SC2064 # expand now: $work is local
    trap "rm -rf '$work'" RETURN

    verified() { echo "$sha256  $1" | sha256sum --check --status; }
    local crate="" cached
    for cached in "${CARGO_HOME:-$HOME/.cargo}"/registry/cache/*/"$name-$version.crate"; do
        if [[ -f $cached ]] && verified "$cached"; then
            crate=$cached
            break
        fi
    done
    if [[ -z $crate ]]; then
        crate=$work/$name-$version.crate
        curl --silent --show-error --fail --location --retry 3 --output "$crate" \
            "https://static.crates.io/crates/$name/$name-$version.crate"
        if ! verified "$crate"; then
            echo "vendor-patched: the downloaded $name-$version.crate does not match sha256 $sha256" >&2
            exit 1
        fi
    fi

    tar -xzf "$crate" -C "$work"
    local patch_file
    for patch_file in "${patches[@]}"; do
        # No fuzz: a patch must apply exactly to the pristine crate.
        patch --quiet --strip=1 --fuzz=0 --no-backup-if-mismatch \
            --directory="$work/$name-$version" --input="$PWD/$patch_file"
    done
    echo "$wanted" >"$work/$name-$version/.cello-patched"

    rm -rf "$dest"
    mkdir -p "$(dirname "$dest")"
    mv "$work/$name-$version" "$dest"
    echo "vendor-patched: $dest is $name $version with ${patches[*]}"
}

for entry in "${CRATES[@]}"; do
    # shellcheck disable=SC2086 # three words on purpose
    vendor $entry
done
