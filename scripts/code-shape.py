#!/usr/bin/env python3
"""The shape of src/: code lines per file (no blank, comment or unit-test lines), the longest
functions, and doc lines per code line. `python3 scripts/code-shape.py [DIR]` (default src).
The library only: `src/bin` (the CLI) is left out unless DIR is given; a trait method without a
body (`fn f(&self);`) is not a function to measure."""
import os, re, sys

root = sys.argv[1] if len(sys.argv) > 1 else "src"
files, funcs = [], []
total_code = total_doc = 0
explicit = len(sys.argv) > 1
for dirpath, dirnames, names in os.walk(root):
    if not explicit and dirpath == root and "bin" in dirnames:
        dirnames.remove("bin")
    for n in sorted(names):
        if not n.endswith(".rs"):
            continue
        path = os.path.join(dirpath, n)
        lines = open(path, encoding="utf-8").read().split("\n")
        # Unit tests (`#[cfg(test)] mod tests`) are not the module's code.
        for i, l in enumerate(lines):
            if l.startswith("#[cfg(test)]") and i + 1 < len(lines) and lines[i + 1].startswith("mod "):
                lines = lines[:i]
                break
        code = doc = 0
        for l in lines:
            s = l.strip()
            if not s:
                continue
            if s.startswith("///") or s.startswith("//!"):
                doc += 1
            elif s.startswith("//"):
                continue
            else:
                code += 1
        files.append((code, doc, path))
        total_code += code
        total_doc += doc
        # Functions: from an `fn` line to the closing brace at its indentation.
        for i, l in enumerate(lines):
            m = re.match(r"^(\s*)(pub(\([a-z]+\))? )?(async )?(unsafe )?fn (\w+)", l)
            if not m:
                continue
            indent = m.group(1)
            # A signature that ends in `;` before any `{` has no body.
            body = True
            for j in range(i, len(lines)):
                t = lines[j].split("//")[0]
                if "{" in t:
                    break
                if t.rstrip().endswith(";"):
                    body = False
                    break
            if not body:
                continue
            for j in range(i, len(lines)):
                if lines[j] == indent + "}" or (j == i and l.rstrip().endswith("}")):
                    funcs.append((j - i + 1, f"{path}:{i + 1} {m.group(6)}"))
                    break
files.sort(reverse=True)
funcs.sort(reverse=True)
print(f"code lines {total_code}, doc lines {total_doc}, doc/code {total_doc / max(total_code, 1):.2f}")
print("largest files (code lines, doc lines):")
for code, doc, path in files[:10]:
    print(f"  {code:5} {doc:5}  {path}")
print("longest functions (lines):")
for n, name in funcs[:10]:
    print(f"  {n:5}  {name}")
