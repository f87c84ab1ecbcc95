#!/usr/bin/env python3
"""Checks Cargo.toml's rust-version against the dependency graph: no crate that a build of
tracewire compiles (default features, and all features) may declare a newer rust-version.

A feature whose dependency needs a newer Rust than the crate's own (sqlx 0.9: 1.94) is listed
in FEATURE_RUST with that version, documented in Cargo.toml and the README: the all-features
build is checked without it, and a build with it against its own version.

Only cargo's own metadata and tree are read (no network once the lockfile is resolved). Exit 1,
naming the crates, when rust-version is too low. Used by .ci/run.
"""
import json
import re
import subprocess
import sys


def version(v):
    return tuple(int(x) for x in re.findall(r"\d+", v or "0")[:3]) + (0,) * 3


# feature -> the Rust it needs (its dependency's own rust-version).
FEATURE_RUST = {"sqlx": "1.94"}


def main():
    meta = json.loads(subprocess.check_output(["cargo", "metadata", "--format-version", "1", "--locked"]))
    ours = next(p for p in meta["packages"] if p["name"] == "tracewire")
    declared = ours.get("rust_version")
    by_id = {(p["name"], p["version"]): p.get("rust_version") for p in meta["packages"]}
    worst = []
    rest = sorted(f for f in ours["features"] if f not in FEATURE_RUST and f != "default")
    builds = [([], declared), (["--features", ",".join(rest)], declared)]
    builds += [(["--features", f], v) for f, v in FEATURE_RUST.items()]
    for features, allowed in builds:
        tree = subprocess.check_output(
            ["cargo", "tree", "--locked", "-e", "normal,build", "--prefix", "none", "-f", "{p}", *features],
            text=True,
        )
        for line in tree.splitlines():
            m = re.match(r"(\S+) v(\S+)", line)
            if not m or m.group(1) == "tracewire":
                continue
            rv = by_id.get((m.group(1), m.group(2)))
            if rv and version(rv)[:3] > version(allowed)[:3]:
                worst.append((rv, f"{m.group(1)} {m.group(2)}", " ".join(features) or "default features", allowed))
    if worst:
        for rv, crate, build, allowed in sorted(set(worst)):
            print(f"msrv-check: {crate} needs rust {rv} ({build}); allowed: {allowed}")
        sys.exit(1)
    extra = ", ".join(f"{f} needs {v}" for f, v in FEATURE_RUST.items())
    print(f"msrv-check: rust-version = {declared} covers the default build and every feature but these, each within its own: {extra}")


if __name__ == "__main__":
    main()
