"""The contract in C, measured: the four variants of ``c/include/pin.h``
against the misuse gallery and the 2019 drivers in C, with gcc, sparse and
two Coccinelle semantic patches.

Ground truth is declared in the C files, in a comment at the end of a line:

- ``/* misuse: KIND */`` marks a line of a mistake. A function holding such
  lines is one misuse (a *unit*); a build catches it when gcc or sparse
  reports one of its marked lines, and no diagnostic may fall anywhere else.
  KIND (one of KINDS) is what the mistake does when the build accepts it.
- ``/* expect: pin|ref [via PATH] */`` sits on every put_page() and
  release_pages() line: the page released is (in 2019 code: must become) a
  pin, released with unpin_user_page*(), or a plain reference that stays
  put_page(). PATH (one of PATHS) is how the page reached the release.
- `` * variants: NAME...`` in a file's opening comment: the class exists only
  under those variants (it is n/a elsewhere).

Each unit is compiled alone, the other units of its file cut to prototypes,
so that one mistake cannot hide another (gcc reports an undeclared function
once per file). Functions follow kernel style: ``{`` and ``}`` alone on their
lines, the signature's first line at column 0.
"""

from __future__ import annotations

import argparse
import functools
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Final

__all__ = [
    "C", "VARIANTS", "KINDS", "PATHS", "CError", "Unit", "Site", "CFile", "Cell", "Measurement", "missing_tools",
    "parse", "measure", "build_table", "conversion_table", "detection_table", "spatch", "sparse_paths",
    "PINNED_CALLS", "is_kernel_tree", "annotate", "sparse_kernel", "main",
]  # fmt: skip

C: Final = Path(__file__).resolve().parents[2] / "c"
INCLUDE: Final = C / "include"
CONVERT: Final = C / "cocci" / "unpin_user_page.cocci"
DETECT: Final = C / "cocci" / "put_page_on_pin.cocci"
#: Variant name -> its PIN_VARIANT value; the names label the table's columns.
VARIANTS: Final = {"convention": "PIN_CONVENTION", "rename": "PIN_RENAME", "types": "PIN_TYPES",
                   "sparse": "PIN_SPARSE"}  # fmt: skip
#: What a mistake does when the build accepts it.
KINDS: Final = ("leak", "bug", "einval", "race", "legal", "old-api", "corrupt", "dirty")
#: How a released page got from the call that took it to the release.
PATHS: Final = {
    "direct": "the array or &page the call filled",
    "alias": "the same function, under another name (a copy, an offset, another array)",
    "helper": "a function the pages are passed to",
    "field": "a struct field",
    "sg": "sg_page() of an sg table",
    "call": "another function, by pfn",
}
TOOLS: Final = ("gcc", "sparse", "spatch")
GCC: Final = ("gcc", "-std=gnu11", "-Wall", "-Werror", "-fsyntax-only", "-ftrack-macro-expansion=0")
#: The CHECKFLAGS of linux 6.12's top-level Makefile; -Wno-decl because the
#: gallery's functions are declared in no header.
SPARSE: Final = ("sparse", "-D__linux__", "-Dlinux", "-D__STDC__", "-Dunix", "-D__unix__", "-Wbitwise",
                 "-Wno-return-void", "-Wno-unknown-attribute", "-Wno-decl")  # fmt: skip
SPATCH: Final = ("spatch", "--very-quiet", "--no-includes")

_COMMENT: Final = re.compile(r"/\*(?P<body>[^*]*(?:\*(?!/)[^*]*)*)\*/\s*$")
_MISUSE: Final = re.compile(r"misuse:\s*(?P<kind>[\w-]+)")
_EXPECT: Final = re.compile(r"expect:\s*(?P<expect>pin|ref)(?:\s+via\s+(?P<via>\w+))?")
_VARIANTS_LINE: Final = re.compile(r"^\s*\*\s*variants:\s*(?P<names>.+)$", re.M)
_RELEASE: Final = re.compile(r"\b(put_page|release_pages)\(")
_DETAIL: Final = re.compile(r"^\S+:\d+:\d+:    ")
_DIAG: Final = re.compile(r"^(?P<file>[^:\s]+):(?P<line>\d+):\d+: (?P<sev>error|warning): (?P<msg>.*)$", re.M)


class CError(RuntimeError):
    """The C corpus or a tool broke a rule of the measurement."""


@dataclass(frozen=True)
class Unit:
    """One misuse: a function with marked lines, and their kinds."""

    name: str
    start: int  # first line of the signature (1-based)
    open: int  # the "{" line
    close: int  # the "}" line
    marked: tuple[int, ...]
    kinds: tuple[str, ...]


@dataclass(frozen=True)
class Site:
    """A put_page() or release_pages() line and what it must be."""

    path: Path
    line: int
    expect: str  # "pin" or "ref"
    via: str


@dataclass(frozen=True)
class CFile:
    path: Path
    lines: tuple[str, ...]
    variants: tuple[str, ...]
    units: tuple[Unit, ...]
    sites: tuple[Site, ...]

    @property
    def name(self) -> str:
        return self.path.stem

    def alone(self, unit: Unit) -> str:
        """The file with every other unit cut to its prototype, line numbers kept."""
        out = list(self.lines)
        for other in self.units:
            if other is not unit:
                out[other.open - 1] = ";"
                out[other.open : other.close] = [""] * (other.close - other.open)
        return "\n".join(out) + "\n"


def _functions(lines: Sequence[str]) -> list[tuple[str, int, int, int]]:
    """(name, start, open, close) of every function, 1-based."""
    found: list[tuple[str, int, int, int]] = []
    for i, line in enumerate(lines):
        if line != "{":
            continue
        start = i - 1
        while start > 0 and lines[start][:1] in (" ", "\t"):
            start -= 1
        close = lines.index("}", i)
        m = re.search(r"(\w+)\(", " ".join(lines[start:i]))
        if m is None:
            raise CError(f"no function name above line {i + 1}")
        found.append((m[1], start + 1, i + 1, close + 1))
    return found


@functools.cache
def parse(path: Path) -> CFile:
    """Read *path*'s markers; every release line must carry an expectation."""
    text = path.read_text()
    lines = tuple(text.splitlines())
    kinds: dict[int, str] = {}
    sites: list[Site] = []
    for n, line in enumerate(lines, 1):
        comment = _COMMENT.search(line)
        body = comment["body"] if comment else ""
        if m := _MISUSE.search(body):
            if m["kind"] not in KINDS:
                raise CError(f"{path}:{n}: unknown misuse kind {m['kind']!r}")
            kinds[n] = m["kind"]
        if e := _EXPECT.search(body):
            via = e["via"] or "direct"
            if via not in PATHS:
                raise CError(f"{path}:{n}: unknown path {via!r}")
            sites.append(Site(path, n, e["expect"], via))
        elif _RELEASE.search(line.split("/*")[0]) and not line.lstrip().startswith(("*", "//")):
            raise CError(f"{path}:{n}: a release without an expect: marker")
    units: list[Unit] = []
    for name, start, open_, close in _functions(lines):
        marked = tuple(n for n in kinds if start <= n <= close)
        if marked:
            units.append(Unit(name, start, open_, close, marked, tuple(dict.fromkeys(kinds[n] for n in marked))))
    if sum(len(u.marked) for u in units) != len(kinds):
        raise CError(f"{path}: a misuse marker outside a function")
    names = _VARIANTS_LINE.search(text)
    variants = tuple(names["names"].split()) if names else tuple(VARIANTS)
    if not set(variants) <= set(VARIANTS):
        raise CError(f"{path}: unknown variants {variants}")
    return CFile(path, lines, variants, tuple(units), tuple(sites))


def missing_tools() -> list[str]:
    """The tools of TOOLS not on PATH."""
    return [t for t in TOOLS if shutil.which(t) is None]


def _diagnostics(cmd: Sequence[str], text: str, stdin_name: str) -> dict[int, str]:
    """Line -> first message of *cmd* run on *text*; a diagnostic in a header
    is a fault of pin.h, not of the code."""
    r = subprocess.run([*cmd, f"-I{INCLUDE}"], input=text, capture_output=True, text=True)
    found: dict[int, str] = {}
    for m in _DIAG.finditer(r.stderr + r.stdout):
        if m["file"] != stdin_name:
            raise CError(f"diagnostic in {m['file']}: {m[0]}")
        found.setdefault(int(m["line"]), m["msg"])
    if r.returncode and not found and stdin_name == "<stdin>":
        raise CError(f"{cmd[0]} failed without a diagnostic: {r.stderr}")
    return found


def gcc(text: str, variant: str) -> dict[int, str]:
    """gcc -Wall -Werror's diagnostics on *text* under *variant*."""
    return _diagnostics([*GCC, f"-DPIN_VARIANT={VARIANTS[variant]}", "-x", "c", "-"], text, "<stdin>")


def sparse(text: str) -> dict[int, str]:
    """sparse's warnings and errors on *text* under the sparse variant."""
    return _diagnostics([*SPARSE, f"-DPIN_VARIANT={VARIANTS['sparse']}", "-"], text, "-")


@dataclass(frozen=True)
class Cell:
    """One file under one variant: each unit's outcome ("gcc", "sparse" or
    "accepted") with its kinds."""

    outcomes: tuple[tuple[str, tuple[str, ...]], ...]

    def count(self, outcome: str) -> int:
        return sum(o == outcome for o, _ in self.outcomes)

    def __str__(self) -> str:
        n = len(self.outcomes)
        counts = {o: self.count(o) for o in _LABELS if self.count(o)}
        if len(counts) == 1:
            ((o, k),) = counts.items()
            return f"{_LABELS[o]} ({k}/{n})"
        return ", ".join(f"{o} {k}/{n}" for o, k in counts.items())


_LABELS: Final = {"gcc": "rejected by gcc", "sparse": "warned by sparse", "accepted": "accepted"}


@dataclass(frozen=True)
class Measurement:
    """Everything ``make c`` measures."""

    cells: dict[str, dict[str, Cell | None]]  # file stem -> variant -> cell (None: n/a)
    drivers: tuple[str, ...]  # the stems of c/misuse/before/
    sparse_found: frozenset[tuple[Path, int]]  # marked lines sparse reports under (d)
    gcc_types: frozenset[tuple[Path, int]]  # marked lines gcc reports under (c)
    rejected_correct: tuple[str, ...]  # diagnostics on c/ok/: must be empty
    converted: frozenset[tuple[Path, int]]  # lines unpin_user_page.cocci rewrote to an unpin
    detected: frozenset[tuple[Path, int]]  # lines put_page_on_pin.cocci reports
    sites: tuple[Site, ...]


def _files(folder: Path) -> list[CFile]:
    return [parse(p) for p in sorted(folder.glob("*.c"))]


def _unit_outcomes(f: CFile, variant: str) -> list[tuple[Unit, str, dict[int, str], dict[int, str]]]:
    out: list[tuple[Unit, str, dict[int, str], dict[int, str]]] = []
    for unit in f.units:
        text = f.alone(unit)
        g = gcc(text, variant)
        s = sparse(text) if variant == "sparse" else {}
        for line, msg in {**s, **g}.items():
            if line not in unit.marked:
                raise CError(f"{f.path}:{line}: {msg} (not a marked line of {unit.name}, {variant})")
        outcome = ("gcc" if any(n in g for n in unit.marked) else
                   "sparse" if any(n in s for n in unit.marked) else "accepted")  # fmt: skip
        out.append((unit, outcome, g, s))
    return out


def spatch(cocci: Path, mode: str, paths: Iterable[Path]) -> str:
    """spatch's output for semantic patch *cocci* in *mode* (patch or report)
    over each folder or file of *paths*."""
    out: list[str] = []
    for p in paths:
        where = ["--dir", str(p)] if p.is_dir() else [str(p)]
        r = subprocess.run([*SPATCH, "--sp-file", str(cocci), "-D", mode, *where], capture_output=True, text=True)
        if r.returncode:
            raise CError(f"spatch {cocci.name} on {p}: {r.stderr}")
        out.append(r.stdout)
    return "".join(out)


def _converted(diff: str, folder: Path) -> set[tuple[Path, int]]:
    """(file, old line) of every line spatch's diff over *folder* replaces
    with an unpin call."""
    found: set[tuple[Path, int]] = set()
    path = folder
    removed: list[int] = []
    old = 0
    for line in diff.splitlines():
        if line.startswith("--- a/"):
            path = folder / line[6:]
        elif m := re.match(r"@@ -(\d+)", line):
            old, removed = int(m[1]), []
        elif line.startswith("-"):
            removed.append(old)
            old += 1
        elif line.startswith("+") and not line.startswith("+++") and removed:
            replaced = removed.pop(0)
            if "unpin_user_page" in line:
                found.add((path, replaced))
        elif line.startswith(" "):
            old, removed = old + 1, []
    return found


def _detected(report: str) -> set[tuple[Path, int]]:
    return {(Path(m[1]).resolve(), int(m[2])) for m in re.finditer(r"^(\S+?):(\d+):\d+-\d+: ", report, re.M)}


@functools.cache
def measure() -> Measurement:
    """Compile every unit under every variant it exists in, check the correct
    code under all four, and run both semantic patches."""
    missing = missing_tools()
    if missing:
        raise CError(f"missing: {', '.join(missing)} (apt-get install -y sparse coccinelle gcc)")
    misuse, before, ok = _files(C / "misuse"), _files(C / "misuse" / "before"), _files(C / "ok")
    jobs = [(f, v) for f in misuse + before for v in VARIANTS if v in f.variants]
    whole = [(f, v) for f in ok for v in VARIANTS]
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = dict(zip(jobs, pool.map(_unit_outcomes, [f for f, _ in jobs], [v for _, v in jobs])))
        correct = list(zip(whole, pool.map(gcc, ["\n".join(f.lines) + "\n" for f, _ in whole],
                                           [v for _, v in whole])))  # fmt: skip
    rejected = [f"{f.path.name} under {v}: {d}" for (f, v), diags in correct for d in diags.values()]
    rejected += [f"{f.path.name} under sparse: {d}" for f in ok for d in sparse("\n".join(f.lines) + "\n").values()]
    if any(u.marked for f in ok for u in f.units):
        raise CError("c/ok/ holds a misuse marker")
    cells: dict[str, dict[str, Cell | None]] = {}
    sparse_found: set[tuple[Path, int]] = set()
    gcc_types: set[tuple[Path, int]] = set()
    for f in misuse + before:
        row: dict[str, Cell | None] = {}
        for v in VARIANTS:
            if (f, v) not in results:
                row[v] = None
                continue
            row[v] = Cell(tuple((outcome, unit.kinds) for unit, outcome, _, _ in results[f, v]))
            for _, _, g, s in results[f, v]:
                if v == "sparse":
                    sparse_found.update((f.path, n) for n in s)
                if v == "types":
                    gcc_types.update((f.path, n) for n in g)
        cells[f.name] = row
    converted = {site for folder in (C / "misuse" / "before", C / "ok")
                 for site in _converted(spatch(CONVERT, "patch", [folder]), folder)}  # fmt: skip
    detected = _detected(spatch(DETECT, "report", [C / "misuse", C / "ok"]))
    return Measurement(
        cells, tuple(f.name for f in before), frozenset(sparse_found), frozenset(gcc_types), tuple(rejected),
        frozenset(converted), frozenset(detected), tuple(s for f in misuse + before + ok for s in f.sites),
    )  # fmt: skip


def build_table(m: Measurement) -> str:
    """Misuse class (then 2019 driver) x variant: what the build does."""
    rows = ["| C file | " + " | ".join(f"({chr(97 + i)}) {v}" for i, v in enumerate(VARIANTS)) + " |",
            "|---|" + "---|" * len(VARIANTS)]  # fmt: skip
    for name, row in sorted(m.cells.items(), key=lambda kv: (kv[0] in m.drivers, kv[0])):
        label = f"`before/{name}`" if name in m.drivers else f"`{name}`"
        rows.append(f"| {label} | " + " | ".join("n/a" if c is None else str(c) for c in row.values()) + " |")
    return "\n".join(rows)


def _in(site: Site, folder: str) -> bool:
    return site.path.parent.name == folder


def conversion_table(m: Measurement) -> str:
    """unpin_user_page.cocci over c/misuse/before/ and c/ok/: per expectation
    and path, how many release sites it rewrote."""
    sites = [s for s in m.sites if _in(s, "before") or _in(s, "ok")]
    rows = ["| release site | how the page gets there | sites | converted to unpin | left as put_page |",
            "|---|---|---|---|---|"]  # fmt: skip
    for expect, label in (("pin", "must become an unpin"), ("ref", "must stay put_page()")):
        for via, how in PATHS.items():
            mine = [s for s in sites if s.expect == expect and s.via == via]
            done = sum((s.path, s.line) in m.converted for s in mine)
            if mine:
                rows.append(f"| {label} | {how} | {len(mine)} | {done} | {len(mine) - done} |")
    pins = [s for s in sites if s.expect == "pin"]
    refs = [s for s in sites if s.expect == "ref"]
    right = sum((s.path, s.line) in m.converted for s in pins)
    wrong = sum((s.path, s.line) in m.converted for s in refs)
    return "\n".join(rows) + (f"\n\nConverted correctly {right} of {len(pins)}; missed {len(pins) - right}; "
                              f"converted wrongly {wrong} of {len(refs)} plain references.")  # fmt: skip


def detection_table(m: Measurement) -> str:
    """Puts on a pin in c/misuse/ found by put_page_on_pin.cocci, by sparse
    under (d) and by gcc under (c): a build finds a site when it reports a
    marked line of the site's function; a put on a plain reference (c/misuse/
    and c/ok/) is a false positive when its own line is reported."""
    units = {(f.path, u.start, u.close) for f in _files(C / "misuse") for u in f.units}

    def unit_hit(s: Site, found: frozenset[tuple[Path, int]]) -> bool:
        return any(p == s.path and a <= s.line <= b and any(q == p and a <= n <= b for q, n in found)
                   for p, a, b in units)  # fmt: skip

    sites = [s for s in m.sites if _in(s, "misuse")]
    rows = ["| the put | how the pin gets there | sites | put_page_on_pin.cocci | sparse, (d) | gcc, (c) |",
            "|---|---|---|---|---|---|"]  # fmt: skip
    for via, how in PATHS.items():
        mine = [s for s in sites if s.expect == "pin" and s.via == via]
        if mine:
            found = [sum((s.path, s.line) in m.detected for s in mine), sum(unit_hit(s, m.sparse_found) for s in mine),
                     sum(unit_hit(s, m.gcc_types) for s in mine)]  # fmt: skip
            rows.append(f"| on a pin | {how} | {len(mine)} | " + " | ".join(map(str, found)) + " |")
    refs = [s for s in m.sites if s.expect == "ref" and not _in(s, "before")]
    false = [sum((s.path, s.line) in found for s in refs) for found in (m.detected, m.sparse_found, m.gcc_types)]
    rows.append(f"| on a plain reference (reported: a false positive) | any | {len(refs)} | "
                + " | ".join(map(str, false)) + " |")
    return "\n".join(rows)


#: The calls whose page pointers become ``__pinned`` in a kernel tree.
PINNED_CALLS: Final = ("pin_user_pages", "pin_user_pages_fast", "pin_user_pages_remote", "pin_user_pages_unlocked",
                       "unpin_user_page", "unpin_user_pages", "unpin_user_pages_dirty_lock",
                       "unpin_user_page_range_dirty_lock")  # fmt: skip
_DEFINES: Final = (
    ("# define __rcu\t\t__attribute__((noderef, address_space(__rcu)))\n",
     "# define __pinned\t__attribute__((noderef, address_space(__pinned)))\n"),
    ("# define __iomem\n", "# define __pinned\n"),
)  # fmt: skip


def is_kernel_tree(path: Path) -> bool:
    return (path / "Kbuild").is_file() and (path / "include" / "linux" / "mm.h").is_file()


def annotate(tree: Path) -> int:
    """Give kernel *tree* the __pinned address space, in place: defined beside
    __rcu in include/linux/compiler_types.h (as for linux 6.12), and on the
    page pointers of PINNED_CALLS' prototypes in include/linux/mm.h. Returns
    how many prototypes it changed; a second run changes none."""
    types = tree / "include" / "linux" / "compiler_types.h"
    text = types.read_text()
    if "__pinned" not in text:
        for line, added in _DEFINES:
            if line not in text:
                raise CError(f"{types}: no line {line.strip()!r} to define __pinned beside")
            text = text.replace(line, line + added, 1)
        types.write_text(text)
    mm = tree / "include" / "linux" / "mm.h"
    calls = "|".join(PINNED_CALLS)
    changed = 0

    def pin(m: re.Match[str]) -> str:
        nonlocal changed
        new = re.sub(r"struct page \*(\*?)(pages?)\b", r"struct page __pinned *\1\2", m[0])
        changed += new != m[0]
        return new

    mm.write_text(re.sub(rf"^(?:void|long|int) (?:{calls})\([^;]*\);", pin, mm.read_text(), flags=re.M))
    return changed


def sparse_kernel(tree: Path, targets: Sequence[str]) -> list[str]:
    """The kernel's own sparse run (``make C=2``) over *targets* of annotated,
    configured *tree*: every warning whose types name __pinned."""
    r = subprocess.run(["make", "-C", str(tree), "C=2", *targets], capture_output=True, text=True)
    out = (r.stdout + r.stderr).splitlines()
    found: list[str] = []
    for i, line in enumerate(out):
        if _DIAG.match(line):
            detail = [d.split(":    ", 1)[1].strip() for d in out[i + 1 : i + 3] if _DETAIL.match(d)]
            if any("__pinned" in d for d in [line, *detail]):
                found.append("; ".join([line, *detail]))
    if r.returncode and not found:
        raise CError(f"make C=2 failed: {r.stderr[-2000:]}")
    return found


def sparse_paths(paths: Iterable[Path]) -> list[str]:
    """sparse's findings on the C files at *paths*, written against
    c/include/pin.h under the sparse variant."""
    files = [f for p in paths for f in (sorted(p.rglob("*.c")) if p.is_dir() else [p])]
    return [f"{f}:{line}: {msg}" for f in files for line, msg in sparse(f.read_text()).items()]


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m pinapi._lab.c_contract [convert|detect PATH... | sparse PATH... | sparse TREE TARGET...]``:
    no command measures c/; sparse on a kernel tree annotates it in place
    and runs ``make C=2 TARGET...`` there (configure it first)."""
    parser = argparse.ArgumentParser(prog="python -m pinapi._lab.c_contract", description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("command", nargs="?", choices=("measure", "convert", "detect", "sparse"), default="measure")
    parser.add_argument("paths", nargs="*", help="folders or files; for sparse, a kernel tree and its make targets")
    args = parser.parse_args(argv)
    try:
        paths = [Path(p) for p in args.paths]
        if args.command == "convert":
            print(spatch(CONVERT, "patch", paths), end="")
        elif args.command == "detect":
            print(spatch(DETECT, "report", paths), end="")
        elif args.command == "sparse" and paths and is_kernel_tree(paths[0]):
            print(f"annotated {annotate(paths[0])} prototypes", file=sys.stderr)
            print("\n".join(sparse_kernel(paths[0], args.paths[1:])))
        elif args.command == "sparse":
            print("\n".join(sparse_paths(paths)))
        else:
            m = measure()
            print(build_table(m), conversion_table(m), detection_table(m), sep="\n\n")
            if m.rejected_correct:
                print("correct code rejected:", *m.rejected_correct, sep="\n  ")
                return 1
    except CError as e:
        print(f"c_contract: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
