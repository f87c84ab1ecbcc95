#!/usr/bin/env python3
"""Checks Cargo.toml's rust-version against the dependency graph: no crate that a build of
tracewire compiles (default features, and all features) may declare a newer rust-version.

Only cargo's own metadata and tree are read (no network once the lockfile is resolved). Exit 1,
naming the crates, when rust-version is too low. Used by .ci/run.
"""
import json
import re
import subprocess
import sys


def version(v):
    return tuple(int(x) for x in re.findall(r"\d+", v or "0")[:3]) + (0,) * 3


def main():
    meta = json.loads(subprocess.check_output(["cargo", "metadata", "--format-version", "1", "--locked"]))
    ours = next(p for p in meta["packages"] if p["name"] == "tracewire")
    declared = ours.get("rust_version")
    by_id = {(p["name"], p["version"]): p.get("rust_version") for p in meta["packages"]}
    worst = []
    for features in ([], ["--all-features"]):
        tree = subprocess.check_output(
            ["cargo", "tree", "--locked", "-e", "normal,build", "--prefix", "none", "-f", "{p}", *features],
            text=True,
        )
        for line in tree.splitlines():
            m = re.match(r"(\S+) v(\S+)", line)
            if not m or m.group(1) == "tracewire":
                continue
            rv = by_id.get((m.group(1), m.group(2)))
            if rv and version(rv)[:3] > version(declared)[:3]:
                worst.append((rv, f"{m.group(1)} {m.group(2)}", "all features" if features else "default features"))
    if worst:
        for rv, crate, build in sorted(set(worst)):
            print(f"msrv-check: {crate} needs rust {rv} ({build}); Cargo.toml says rust-version = {declared}")
        sys.exit(1)
    print(f"msrv-check: rust-version = {declared} covers every crate of the default and the all-features build")


if __name__ == "__main__":
    main()
