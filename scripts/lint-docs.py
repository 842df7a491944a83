#!/usr/bin/env python3
"""Fail when an item visible outside its module has no doc comment.

    python3 scripts/lint-docs.py

The project standard is "docs on every public item" (ripgrep's
deny(missing_docs)). podinit's modules are private to the crate (src/lib.rs
exports only `main` and the hidden `fuzzing` re-exports), so rustc's
`missing_docs` lint (Cargo.toml [lints]) no longer sees the items the standard
is about. For a binary crate they are the items visible outside their own
module: `pub`, `pub(crate)`, `pub(super)`, `pub(in ...)`. Clippy's
`missing_docs_in_private_items` sees every item, private ones too (some 340
that need no doc); this script runs it and keeps the diagnostics on items
visible outside their module, printing each as `FILE:LINE: missing doc: ITEM`.
Exit 1 when there is one, 0 (with a one-line summary) when there is none,
2 when cargo itself fails.

Which item counts, by its source line (the code is rustfmt-formatted):
- an item whose line starts with `pub` (not `pub(self)`): its own visibility;
- an enum variant, and a named field of a struct-like variant, has no keyword
  of its own but the enum's visibility, as for rustc's missing_docs: it counts
  when the enum's line starts with `pub`;
- an item of a trait (method, associated const or type) likewise takes the
  trait's visibility;
- a struct field without `pub` is private, whatever the struct's visibility.

Only the library is checked (`--lib`, not `--tests`): code under #[cfg(test)]
(test modules, test helpers) is then not compiled at all, so it is exempt by
construction rather than by reading attributes. Clippy runs in its own target
dir (target/lint-docs) so that it and `cargo clippy` in `make lint`, whose
flags differ, do not invalidate each other's cached checks.
"""

import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LINT = "clippy::missing_docs_in_private_items"

# The line that opens a block, by the kind of block.
HEADER = re.compile(
    r"^(?:pub(?:\([^)]*\))?\s+)?(?:unsafe\s+|auto\s+|const\s+|async\s+|extern\s+\"[^\"]*\"\s+)*"
    r"(enum|struct|union|trait|impl|mod|fn)\b"
)
# A struct-like or tuple variant opening on its own line: `Name {` or `Name(`.
VARIANT = re.compile(r"^[A-Z][A-Za-z0-9_]*\s*[{(]")


def visible_keyword(text):
    """Whether an item's text starts with a visibility beyond its own module."""
    text = text.lstrip()
    # `pub\b`: not a field named `public` or `pub_key`.
    return bool(re.match(r"pub\b", text)) and not re.match(r"pub\s*\(\s*self\s*\)", text)


def indent(line):
    """The number of leading whitespace characters of a line."""
    return len(line) - len(line.lstrip())


def parent(lines, idx):
    """The index of the nearest line above `idx` that is indented less (the
    line opening the block `idx` is in), or None at the top of the file."""
    own = indent(lines[idx])
    for i in range(idx - 1, -1, -1):
        if lines[i].strip() and indent(lines[i]) < own:
            return i
    return None


def block_visible(lines, idx, is_field):
    """Whether an item without a `pub` of its own, inside the block that line
    `idx` opens, is visible outside the module: in a visible enum or trait."""
    while idx is not None:
        text = lines[idx].strip()
        m = HEADER.match(text)
        if m:
            if m.group(1) in ("enum", "trait"):
                return visible_keyword(text)
            return False  # a struct's private field, an impl's private item, a local item
        if is_field and VARIANT.match(text):
            # A named field of a struct-like variant: the variant's enum decides.
            idx = parent(lines, idx)
            continue
        # A continuation of a header (`{` after a where clause, `>`): look higher.
        idx = parent(lines, idx)
    return False


def required(lines, line_no, col, kind):
    """Whether the item clippy found at LINE:COL (1-based) needs a doc comment."""
    idx = line_no - 1
    line = lines[idx]
    before = line[indent(line):col - 1]  # from the item's start to its name
    if "{" in before:
        # An item inside a one-line block: a field of `Variant { a: u32, b: u32 }`
        # or of `struct S { pub(crate) a: u32 }`. Its own text runs from the
        # previous `{` or `,` to its name.
        if visible_keyword(before[max(before.rfind("{"), before.rfind(",")) + 1:]):
            return True
        text = line.strip()
        if VARIANT.match(text):
            return block_visible(lines, parent(lines, idx), True)
        return block_visible(lines, idx, kind == "field")
    if visible_keyword(line):
        return True
    return block_visible(lines, parent(lines, idx), kind == "field")


def clippy():
    """The missing-docs diagnostics of the library, as (file, line, col, kind, name)."""
    target = os.path.join(os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target"), "lint-docs")
    cmd = ["cargo", "clippy", "--quiet", "--lib", "--message-format=json", "--target-dir", target,
           "--", "-A", "clippy::all", "-W", LINT]
    proc = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    found = []
    errors = []
    for raw in proc.stdout.splitlines():
        msg = json.loads(raw)
        if msg.get("reason") != "compiler-message":
            continue
        diag = msg["message"]
        if diag["level"] == "error":
            errors.append(diag["rendered"])
        if (diag.get("code") or {}).get("code") != LINT:
            continue
        span = next(s for s in diag["spans"] if s["is_primary"])
        kind = diag["message"].removeprefix("missing documentation for ").split(" ", 1)[-1]
        name = span["text"][0]["text"][span["text"][0]["highlight_start"] - 1:span["text"][0]["highlight_end"] - 1]
        found.append((span["file_name"], span["line_start"], span["column_start"], kind, name))
    if proc.returncode != 0 or errors:
        sys.stderr.write("".join(errors))
        print(f"lint-docs: {' '.join(cmd)} failed (exit {proc.returncode})", file=sys.stderr)
        sys.exit(2)
    return sorted(set(found))


def main():
    """Print the undocumented visible items; exit 1 if there is one."""
    found = clippy()
    sources = {}
    missing = []
    for file, line_no, col, kind, name in found:
        if file not in sources:
            with open(os.path.join(ROOT, file), encoding="utf-8") as f:
                sources[file] = f.read().split("\n")
        if required(sources[file], line_no, col, kind):
            missing.append((file, line_no, col, kind, name))
    for file, line_no, col, kind, name in missing:
        line = sources[file][line_no - 1]
        # Name the item when it is not the one its line opens (`Variant { field: T }`).
        which = f"  ({kind} `{name}`)" if "{" in line[indent(line):col - 1] else ""
        print(f"{file}:{line_no}: missing doc: {line.strip()}{which}")
    if missing:
        print(f"lint-docs: {len(missing)} item(s) visible outside their module have no doc comment", file=sys.stderr)
        return 1
    print(f"lint-docs: every item visible outside its module has a doc comment "
          f"({len(found)} private items without one are not required)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
