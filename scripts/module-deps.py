#!/usr/bin/env python3
"""The module graph of the library, from its own sources, checked against ARCHITECTURE.md.

Reads every file under src/ (not src/bin: the CLI is a client of the library), leaves out
comments, strings and `#[cfg(test)]` modules, and collects which top-level module names which
(`crate::x`, `use crate::{x, ..}`, a root re-export such as `crate::Error` counted as the module
that defines it). ARCHITECTURE.md's "Dependencies" block lists, for every module, the modules it
may name; this script fails when the code has an edge the document does not list, or the
document lists one the code no longer has, or when a cycle appears that the document does not
name as on purpose. Inside each folder module, the files' graph (a file naming a sibling, or an
item its `mod.rs` re-exports from one) must have no cycle but those the document's
"file-cycles" block names; `mod.rs` naming its own files is the shape of any module and is not
counted. It also fails when a module outside `settings` and `stack` names the type `Settings`:
the stack is the one place that cuts the user's settings into what each stage receives.
Usage: python3 scripts/module-deps.py [--print]
"""
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
SRC = os.path.join(ROOT, "src")
# Modules allowed to name `Settings`: where it is defined, and the assembler that reads it.
READS_SETTINGS = {"settings", "stack", "testing"}


def strip(text):
    """Source without comments, string/char literals and #[cfg(test)] items."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            i = n if j < 0 else j + 2
        elif c == "r" and re.match(r'r#*"', text[i:i + 10]) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            m = re.match(r'r(#*)"', text[i:])
            end = text.find('"' + m.group(1), i + len(m.group(0)))
            i = n if end < 0 else end + 1 + len(m.group(1))
            out.append('""')
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            i = j + 1
            out.append('""')
        elif c == "'" and re.match(r"'(\\.|[^\\'])'", text[i:i + 4]) or (c == "'" and re.match(r"'\\u\{[0-9a-fA-F]+\}'", text[i:i + 12])):
            m = re.match(r"'(\\u\{[0-9a-fA-F]+\}|\\.|[^\\'])'", text[i:])
            i += len(m.group(0))
            out.append("' '")
        else:
            out.append(c)
            i += 1
    code = "".join(out)
    # drop #[cfg(test)] items (a module or a function): the attribute, then the item up to its
    # matching closing brace
    while True:
        m = re.search(r"#\[cfg\(test\)\]", code)
        if not m:
            return code
        j = code.find("{", m.end())
        semi = code.find(";", m.end())
        if j < 0 or (0 <= semi < j):
            code = code[:m.start()] + code[(semi + 1 if semi >= 0 else len(code)):]
            continue
        depth, k = 0, j
        while k < len(code):
            if code[k] == "{":
                depth += 1
            elif code[k] == "}":
                depth -= 1
                if depth == 0:
                    break
            k += 1
        code = code[:m.start()] + code[k + 1:]


def files():
    for dirpath, dirs, names in os.walk(SRC):
        if os.path.relpath(dirpath, SRC).split(os.sep)[0] == "bin":
            continue
        for name in names:
            if name.endswith(".rs"):
                path = os.path.join(dirpath, name)
                rel = os.path.relpath(path, SRC)
                yield rel, path


def top(rel):
    first = rel.split(os.sep)[0]
    return "lib" if first == "lib.rs" else first[:-3] if first.endswith(".rs") else first


def root_items():
    """Names re-exported at the crate root -> the module defining them."""
    lib = strip(open(os.path.join(SRC, "lib.rs")).read())
    items = {}
    for m in re.finditer(r"pub use (\w+)::(\{[^}]*\}|\w+)\s*;", lib):
        for name in re.findall(r"\w+", m.group(2)):
            items[name] = m.group(1)
    return items


def graph():
    mods = {top(rel) for rel, _ in files()}
    items = root_items()
    edges, settings_users = {}, {}
    for rel, path in files():
        src_mod = top(rel)
        code = strip(open(path).read())
        found = set()
        for m in re.finditer(r"\bcrate::(\{[^}]*\}|\w+)", code):
            for name in re.findall(r"\b\w+\b", m.group(1))[:1] if not m.group(1).startswith("{") else \
                    [re.match(r"\s*(\w+)", part).group(1) for part in m.group(1)[1:-1].split(",") if part.strip()]:
                if name in mods:
                    found.add(name)
                elif name in items:
                    found.add(items[name])
        if src_mod == "lib":
            continue
        found.discard(src_mod)
        found.discard("lib")
        edges.setdefault(src_mod, set()).update(found)
        if src_mod not in READS_SETTINGS and re.search(r"\bSettings\b", code):
            settings_users.setdefault(src_mod, []).append(rel)
    for mod in mods - {"lib"}:
        edges.setdefault(mod, set())
    return edges, settings_users


def documented():
    """The Dependencies block of ARCHITECTURE.md: `module -> a, b` per line; `(back)` marks an
    edge that closes a cycle on purpose."""
    text = open(os.path.join(ROOT, "ARCHITECTURE.md")).read()
    m = re.search(r"<!-- module-deps -->\n```\n(.*?)```", text, re.S)
    if not m:
        sys.exit("ARCHITECTURE.md has no <!-- module-deps --> block")
    edges, back = {}, set()
    for line in m.group(1).splitlines():
        if not line.strip():
            continue
        left, _, right = line.partition("->")
        mod = left.strip()
        edges[mod] = set()
        for dep in right.split(","):
            dep = dep.strip()
            if not dep:
                continue
            if dep.endswith("(back)"):
                dep = dep[:-6].strip()
                back.add((mod, dep))
            edges[mod].add(dep)
    return edges, back


def cycles(edges, ignore):
    """Edges on a cycle, with the on-purpose back edges left out."""
    g = {m: {d for d in ds if (m, d) not in ignore} for m, ds in edges.items()}
    on_cycle = []
    for m, ds in g.items():
        for d in ds:
            seen, todo = set(), [d]
            while todo:
                x = todo.pop()
                if x == m:
                    on_cycle.append((m, d))
                    break
                if x in seen:
                    continue
                seen.add(x)
                todo.extend(g.get(x, ()))
    return sorted(on_cycle)


def folder_graph(mod):
    """The graph of the files of folder module `mod`: node = the file (or nested folder) under
    it; `mod.rs`'s own edges left out."""
    base = os.path.join(SRC, mod)
    code = {}
    for dirpath, _, names in os.walk(base):
        for name in names:
            if name.endswith(".rs"):
                rel = os.path.relpath(os.path.join(dirpath, name), base).split(os.sep)
                code.setdefault((rel[0][:-3] if len(rel) == 1 else rel[0], len(rel)), []).append(
                    strip(open(os.path.join(dirpath, name)).read()))
    nodes = {n for n, _ in code}
    reexported = {}
    for text in code.get(("mod", 1), []):
        for m in re.finditer(r"pub(?:\(crate\))?\s+use\s+(?:self::)?(\w+)::(\{[^}]*\}|\w+)", text):
            for item in re.findall(r"\w+", m.group(2)):
                reexported[item] = m.group(1)
    edges = {n: set() for n in nodes}
    for (node, depth), texts in code.items():
        if node == "mod":
            continue
        up = "super::" * depth
        for text in texts:
            names = [m.group(1) for m in re.finditer(r"\bcrate::" + mod + r"::(\w+)", text)]
            for m in re.finditer(r"(?<!super::)\b" + up + r"(\{[^}]*\}|\w+)", text):
                group = m.group(1)
                names += re.findall(r"(?:^|[{,])\s*(\w+)", group) if group.startswith("{") else [group]
            for name in names:
                target = name if name in nodes else reexported.get(name, "mod")
                if target != node:
                    edges[node].add(target)
    return edges


def file_cycles():
    """(module, a, b) for every edge a -> b on a cycle among a folder module's files."""
    found = []
    for mod in sorted(os.listdir(SRC)):
        if mod != "bin" and os.path.isdir(os.path.join(SRC, mod)):
            found += [(mod, a, b) for a, b in cycles(folder_graph(mod), set())]
    return found


def allowed_file_cycles():
    """ARCHITECTURE.md's file-cycles block: `module: a <-> b` per line."""
    text = open(os.path.join(ROOT, "ARCHITECTURE.md")).read()
    m = re.search(r"<!-- file-cycles -->\n```\n(.*?)```", text, re.S)
    pairs = set()
    for line in (m.group(1).splitlines() if m else []):
        mod, _, pair = line.partition(":")
        a, _, b = pair.partition("<->")
        if a.strip() and b.strip():
            pairs.add((mod.strip(), frozenset((a.strip(), b.strip()))))
    return pairs


def main():
    code, settings_users = graph()
    if "--print" in sys.argv:
        for mod in sorted(code):
            print(f"{mod} -> {', '.join(sorted(code[mod]))}")
        for mod, a, b in file_cycles():
            print(f"file cycle: {mod}/ {a} -> {b}")
        return
    doc, back = documented()
    errors = []
    for mod in sorted(set(code) | set(doc)):
        have, said = code.get(mod, set()), doc.get(mod)
        if said is None:
            errors.append(f"{mod}: not in ARCHITECTURE.md's dependency block")
            continue
        if mod not in code:
            errors.append(f"{mod}: in ARCHITECTURE.md but not a module of src/")
            continue
        for d in sorted(have - said):
            errors.append(f"{mod} -> {d}: in the code, not in ARCHITECTURE.md")
        for d in sorted(said - have):
            errors.append(f"{mod} -> {d}: in ARCHITECTURE.md, no longer in the code")
    for m, d in cycles(code, back):
        errors.append(f"{m} -> {d}: on a cycle not marked (back) in ARCHITECTURE.md")
    allowed = allowed_file_cycles()
    for mod, a, b in file_cycles():
        if (mod, frozenset((a, b))) not in allowed:
            errors.append(f"{mod}/: {a} -> {b} is on a cycle among the module's files, not in ARCHITECTURE.md's file-cycles block")
    for mod, rels in sorted(settings_users.items()):
        errors.append(f"{mod} names `Settings` ({', '.join(sorted(rels))}): only {', '.join(sorted(READS_SETTINGS))} may; give it the typed part it needs")
    for e in errors:
        print("module-deps:", e)
    if errors:
        sys.exit(1)
    print(f"module-deps: {len(code)} modules, {sum(len(v) for v in code.values())} edges, as ARCHITECTURE.md says")


main()
