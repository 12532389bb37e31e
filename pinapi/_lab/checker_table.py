"""docs/checkers.md: each misuse class of examples/misuse against mypy,
pyright, pyrefly and ty, from a real run of each on the gallery with its
markers removed. ``python -m pinapi review`` rewrites the file (the review's
summary reads the same run); tests/test_contract.py fails when it is stale."""

from __future__ import annotations

import functools
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Final

from .._tools.check import contract_stubs, run_mypy, run_pyright
from .._tools.checkout import ROOT

__all__ = ["CHECKERS", "CHECKERS_DOC", "Findings", "before_results", "gallery_results", "table"]

CHECKERS_DOC: Final = ROOT / "docs" / "checkers.md"

MARKERS = re.compile(r"  # (type|pyright): ignore\[[^]]*\]")
BIN = Path(sys.executable).parent
#: A checker's findings: {(file, line): "error" | "warning"}.
Findings = dict[tuple[str, int], str]


def _worse(found: Findings, key: tuple[str, int], severity: str) -> None:
    if found.get(key) != "error":
        found[key] = severity


def mypy(work: Path) -> Findings:
    return {(Path(d.path).name, d.line): "error" for d in run_mypy([str(work)], contract_stubs())}


def pyright(work: Path) -> Findings:
    return {(Path(d.path).name, d.line): "error" for d in run_pyright([str(work)], contract_stubs())}


def pyrefly(work: Path) -> Findings:
    (work / "pyrefly.toml").write_text(
        f'project-includes = ["**/*.py"]\nsearch-path = ["{contract_stubs()}"]\npython-version = "3.11"\n'
    )
    r = subprocess.run([BIN / "pyrefly", "check", "--output-format", "min-text", "--min-severity", "warn"],
                       cwd=work, capture_output=True, text=True)  # fmt: skip
    found: Findings = {}
    for m in re.finditer(r"^ ?(ERROR|WARN) (\S+?\.py):(\d+):", r.stdout + r.stderr, re.M):
        _worse(found, (Path(m[2]).name, int(m[3])), "error" if m[1] == "ERROR" else "warning")
    return found


def ty(work: Path) -> Findings:
    r = subprocess.run([BIN / "ty", "check", "--python-version", "3.11", "--extra-search-path",
                        str(contract_stubs()), "--output-format", "concise", "."],
                       cwd=work, capture_output=True, text=True)  # fmt: skip
    found: Findings = {}
    for m in re.finditer(r"^(\S+?\.py):(\d+):\d+: (error|warning)\[", r.stdout, re.M):
        _worse(found, (Path(m[1]).name, int(m[2])), m[3])
    return found


CHECKERS: Final[dict[str, Callable[[Path], Findings]]] = {
    "mypy": mypy, "pyright": pyright, "pyrefly": pyrefly, "ty": ty,
}  # fmt: skip


def gallery(work: Path) -> dict[str, list[int]]:
    """Copy examples/ into *work* without markers; the marked lines per misuse file."""
    marked: dict[str, list[int]] = {}
    for kind in ("misuse", "ok"):
        (work / kind).mkdir()
        for src in sorted((ROOT / "examples" / kind).glob("*.py")):
            lines = src.read_text().splitlines()
            if kind == "misuse":
                marked[src.name] = [i for i, line in enumerate(lines, 1) if "# type: ignore[" in line]
            (work / kind / src.name).write_text("\n".join(MARKERS.sub("", ln) for ln in lines) + "\n")
    return marked


def _cell(found: Findings, name: str, lines: list[int]) -> str:
    errors = [n for n in lines if found.get((name, n)) == "error"]
    warned = [n for n in lines if found.get((name, n)) == "warning"]
    missed = [n for n in lines if n not in errors and n not in warned]
    if not missed and not warned:
        return f"rejected ({len(lines)}/{len(lines)})"
    parts = [f"{len(errors)}/{len(lines)} rejected"]
    if warned:
        parts.append(f"warning only: line {', '.join(map(str, warned))}")
    if missed:
        parts.append(f"accepted: line {', '.join(map(str, missed))}")
    return "; ".join(parts)


@functools.cache
def gallery_results() -> dict[str, dict[str, str]]:
    """Misuse file -> checker -> its cell, plus ``"ok/"`` -> checker -> errors
    on examples/ok; one run of every checker per process."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        marked = gallery(work)
        results = {name: fn(work / "misuse") for name, fn in CHECKERS.items()}
        ok_errors = {name: sum(v == "error" for v in fn(work / "ok").values()) for name, fn in CHECKERS.items()}
    cells = {name: {checker: _cell(found, name, lines) for checker, found in results.items()}
             for name, lines in marked.items()}  # fmt: skip
    cells["ok/"] = {checker: str(n) for checker, n in ok_errors.items()}
    return cells


def _lines(found: Findings, name: str, marked: list[int]) -> str:
    """What one checker reports in one file: the lines it rejects, those it
    only warns about, and the marked ones it lets through."""
    errors = sorted(n for (f, n), sev in found.items() if f == name and sev == "error")
    warned = sorted(n for (f, n), sev in found.items() if f == name and sev == "warning")
    parts = [", ".join(map(str, errors)) if errors else "nothing"]
    if warned:
        parts.append(f"warning only: {', '.join(map(str, warned))}")
    missed = [n for n in marked if n not in errors and n not in warned]
    if missed:
        parts.append(f"accepted: {', '.join(map(str, missed))}")
    return "; ".join(parts)


@functools.cache
def before_results() -> dict[str, tuple[list[int], dict[str, str]]]:
    """Each 2019 "before" driver of examples/misuse/before, without its
    markers, through every checker: file -> (its marked lines, checker -> the
    lines it reports)."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        marked: dict[str, list[int]] = {}
        for src in sorted((ROOT / "examples" / "misuse" / "before").glob("before_*.py")):
            lines = src.read_text().splitlines()
            marked[src.name] = [i for i, line in enumerate(lines, 1) if "# type: ignore[" in line]
            (work / src.name).write_text("\n".join(MARKERS.sub("", ln) for ln in lines) + "\n")
        found = {name: fn(work) for name, fn in CHECKERS.items()}
    return {name: (lines, {checker: _lines(f, name, lines) for checker, f in found.items()})
            for name, lines in marked.items()}  # fmt: skip


def table() -> tuple[str, dict[str, bool]]:
    """The document, and per checker whether it rejected every marked line."""
    cells = gallery_results()
    head = " | ".join(f"{name} {version(name)}" for name in CHECKERS)
    out = [
        "# Misuse classes x type checkers",
        "",
        "Generated by `python -m pinapi review` from a run of each checker over",
        "`examples/misuse/` with the expected-error markers removed, against",
        "`stubs/pinapi`. A cell counts the file's offending lines the checker",
        "reports as errors; \"warning only\" lines are reported but do not fail a",
        "run; \"accepted\" lines pass unnoticed. mypy and pyright must reject all;",
        "pyrefly and ty are reported as they are.",
        "",
        f"| misuse class | {head} |",
        "|---|" + "---|" * len(CHECKERS),
    ]
    complete = {name: True for name in CHECKERS}
    for name, row in cells.items():
        if name == "ok/":
            continue
        for checker, cell in row.items():
            complete[checker] &= cell.startswith("rejected")
        out.append(f"| `{name[:-3]}` | {' | '.join(row.values())} |")
    out += ["", "Errors on the correct code in `examples/ok/` (false positives): "
            + ", ".join(f"{n} {c}" for n, c in cells["ok/"].items()) + ".", ""]  # fmt: skip
    return "\n".join(out), complete
