"""``pinapi check PATH...``: type-check driver code against the pin contract.

Runs mypy (strict, deprecations as errors) and, when it is installed, pyright
(strict) with the contract: the ``pinapi-stubs`` package of an installed
pinapi, or ``stubs/`` beside a source tree. Each error is reported with the pin
rule it breaks and the call to use instead. The code's own ignore comments are
honoured, and an unused one is not a misuse. Exit status: 0 clean, 1 misuse
found, 2 usage error.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from .checkout import ROOT, in_checkout

__all__ = ["add_check_parser", "Diagnostic", "contract_stubs", "run_mypy", "run_pyright", "explain"]


@dataclass(frozen=True)
class Diagnostic:
    """One checker error: where, which checker, its code and its message."""

    path: str
    line: int
    checker: str
    code: str
    message: str


def contract_stubs() -> Path | None:
    """``stubs/`` of a source tree, or None when the installed ``pinapi-stubs``
    package is found by the checkers themselves."""
    return ROOT / "stubs" if in_checkout() else None


_MYPY_LINE: Final = re.compile(r"^(?P<path>.+?):(?P<line>\d+):(?:\d+:)? error: (?P<msg>.*?)(?:  \[(?P<code>[\w-]+)\])?$")


def run_mypy(paths: list[str], stubs: Path | None, project: Path | None = None) -> list[Diagnostic]:
    """mypy --strict over *paths* against the contract; with *project* (a
    mypy.ini), that project's own settings instead, run from its folder."""
    with tempfile.TemporaryDirectory() as tmp:
        config = project or Path(tmp) / "mypy.ini"
        if project is None:
            config.write_text(
                "[mypy]\nstrict = True\nwarn_unused_ignores = False\nenable_error_code = deprecated\n"
                + (f"mypy_path = {stubs}\n" if stubs else "")
            )
        r = subprocess.run(
            [sys.executable, "-m", "mypy", "--config-file", str(config), "--show-error-codes",
             "--no-pretty", "--no-error-summary", "--hide-error-context", *paths],
            capture_output=True, text=True, cwd=project.parent if project else None,
        )  # fmt: skip
    out = []
    for line in r.stdout.splitlines():
        m = _MYPY_LINE.match(line)
        if m:
            out.append(Diagnostic(m["path"], int(m["line"]), "mypy", m["code"] or "misc", m["msg"]))
    if r.returncode not in (0, 1) or (r.returncode == 1 and not out):
        raise RuntimeError(f"mypy failed: {r.stderr or r.stdout}")
    return out


def run_pyright(paths: list[str], stubs: Path | None, project: Path | None = None) -> list[Diagnostic]:
    """pyright (strict) over *paths* against the contract; with *project* (a
    pyproject.toml), that project's own settings instead."""
    config: dict[str, Any] = {
        "typeCheckingMode": "strict",
        "reportDeprecated": "error",
    }
    if stubs:
        config["stubPath"] = str(stubs)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "pyrightconfig.json").write_text(json.dumps(config))
        r = subprocess.run(
            [sys.executable, "-m", "pyright", "--outputjson", "--pythonpath", sys.executable,
             "-p", str(project or Path(tmp) / "pyrightconfig.json"), *paths],
            capture_output=True, text=True,
        )  # fmt: skip
    try:
        report = json.loads(r.stdout)
    except json.JSONDecodeError:
        raise RuntimeError(f"pyright failed: {r.stderr or r.stdout}") from None
    cwd = Path.cwd()
    return [
        Diagnostic(
            str(Path(d["file"]).relative_to(cwd)) if Path(d["file"]).is_relative_to(cwd) else d["file"],
            d["range"]["start"]["line"] + 1, "pyright", d.get("rule", "error"), d["message"].splitlines()[0],
        )  # fmt: skip
        for d in report["generalDiagnostics"]
        if d["severity"] == "error"
    ]


RUNNERS: Final = {"mypy": run_mypy, "pyright": run_pyright}

_RELEASE_PLAIN: Final = r"(put_page|release_pages|get_page|set_page_dirty|set_page_dirty_lock)"
_UNPIN: Final = r"(unpin_user_pages?|unpin_user_pages_dirty_lock|vaddr_unpin_pages_dirty_lock)"

#: (pattern over "message | source line", pin rule broken, the call to use instead)
RULES: Final[list[tuple[re.Pattern[str], str, str]]] = [(re.compile(p, re.S), rule, instead) for p, rule, instead in [
    (r"(variants? of \"VaddrPin\"|No overloads for \"__init__\"|in function \"__init__\")[^|]*\|.*VaddrPin\(",
     "a pin needs an owner: struct vaddr_pin names an mm, a file or both (EINVAL otherwise)",
     "VaddrPin(mm=mm), VaddrPin(file=file) or both"),
    (r"\"__class__\"|final class|marked final|\"register\"|variable has type \"type\[",
     "a handle cannot be forged: no __new__, no subclass, no register(), no __class__ assignment",
     "the handle's factory: vaddr_pin_pages(), get_user_bvec(), alloc_page(), sg_alloc_table*()"),
    (r"\"kind\"", "an empty sg table names the kind it will hold when it is allocated",
     "sg_alloc_table(nents, PinnedPage[Write]) (or Page, KernelPage, PinnedPage[Read], ...)"),
    (r"Too (few|many) arguments|positional argument|Missing positional|\"_NoPublicConstructor\"",
     "handles and pages have no public constructor: each comes from the call that took it",
     "vaddr_pin_pages(), alloc_page(), sg_alloc_table*(); a Page from get_user_pages_remote()"),
    (r"attribute \"_\w+\"|indexed assignment|__setitem__", "handles are opaque: no page comes out of a pin",
     "pin.read()/pin.write() or memcpy_*_page(pin, ...); release with unpin_user_page()"),
    (r"deprecated", "get_user_pages() is deprecated: it takes plain references",
     "vaddr_pin_pages() to touch page data; get_user_pages_remote()/follow_page() for struct page only"),
    (r"FOLL_(PIN|GET)", "FOLL_PIN and FOLL_GET are set by GUP itself, never at a call site",
     "vaddr_pin_pages() (it sets FOLL_PIN)"),
    (r"type \"Literal\[[1-9]\d*\]\"",
     "gup_flags are the named FOLL_* constants (or 0)", "FOLL_WRITE, FOLL_FORCE, FOLL_LONGTERM"),
    (r"type \"PinFlags(\[\w+\])?\"", "FOLL_LONGTERM requires FOLL_PIN: a plain reference cannot be long-term",
     "vaddr_pin_pages(..., FOLL_LONGTERM, ...)"),
    (r"type \"int\"[^|]*(GupFlags|\"(gup|foll)_flags\")",
     "flags the checker cannot follow (built up from 0) go only to the pin API, which checks every bit",
     "FOLL_WRITE, FOLL_FORCE or 0 as constants or a conditional expression"),
    (r"\[(Read|MaybeWrite)\].*(\"(write|for_write)\"|memcpy_to_page)|(\"(write|for_write)\"|memcpy_to_page).*\[(Read|MaybeWrite)\]",
     "page data is written only through a pin taken with FOLL_WRITE",
     "FOLL_WRITE in the flags; flags known only at run time: pins.for_write() (EPERM if they lack it)"),
    (r"\[Read\][^|]*expected \"(Iterable\[)?Pinned\w*\[(Write|MaybeWrite)\]|make_dirty[^|]*Literal\[False\]"
     r"|No overloads for \"\w+\"[^|]*\|.*make_dirty=True",
     "a read pin is released clean: make_dirty only on a pin taken with FOLL_WRITE (EINVAL otherwise)",
     "make_dirty=False, or FOLL_WRITE in the flags if the device writes"),
    (r"Bvec.*" + _RELEASE_PLAIN + r"|" + _RELEASE_PLAIN + r".*Bvec",
     "a bvec segment is not a page reference: a bvec is released only as a whole", "put_user_bvec()"),
    (r"(?i:bvec).*" + _UNPIN + r"|" + _UNPIN + r".*(?i:bvec)",
     "a bvec is released only by put_user_bvec(), not by the per-page unpin calls", "put_user_bvec()"),
    (r"put_user_bvec", "put_user_bvec() releases a PinnedBvec only; per-page pins are not a bvec",
     "unpin_user_pages() / unpin_user_pages_dirty_lock()"),
    (r"_P\b|SgTable|ScatterList|sg_set_page|sg_alloc_table",
     "an sg table holds one kind of page, so sg_page() gives back what went in",
     "separate tables: SgTable[PinnedPage[Write]] released by unpin_user_page(), SgTable[Page] by put_page()"),
    (r"List item|list\[PinnedPage(\[\w+\])? \| Page\]|list\[Page \| PinnedPage(\[\w+\])?\]",
     "a list mixing pinned and plain pages cannot be released correctly",
     "separate lists: unpin_user_pages() for the pins, release_pages() for the plain pages"),
    (r"memcpy_(to|from)_page|\"Page\".*\b(read|write)\b|\b(read|write)\b.*\"Page\"",
     "a plain reference must not touch page data (pin_user_pages.rst case 5)",
     "vaddr_pin_pages() and memcpy_to_page(pin, ...), or a kernel page from alloc_page()"),
    (r"PinnedPage.*" + _RELEASE_PLAIN + "|" + _RELEASE_PLAIN + r".*PinnedPage",
     "put_page() and the plain-reference calls cannot release a pin taken by vaddr_pin_pages()",
     "unpin_user_page() / unpin_user_pages() / unpin_user_pages_dirty_lock()"),
    (r"Pinned\w*[^|]*(expected|declared type) \"[^\"]*\bPage\b",
     "a pin is not a Page: stored as one, it will be released as one",
     "list[PinnedPage] and SgTable[PinnedPage], released by unpin_user_pages()"),
    (_UNPIN, "unpin releases pins only; a plain reference or a kernel page is not a pin", "put_page()"),
]]  # fmt: skip


def explain(diag: Diagnostic, source_line: str) -> tuple[str, str]:
    """The pin rule *diag* breaks and the call to use instead."""
    text = f"{diag.message} | {source_line}"
    for pattern, rule, instead in RULES:
        if pattern.search(text):
            return rule, instead
    return "not a pin rule: an ordinary type error", ""


def _source_line(path: str, line: int, cache: dict[str, list[str]]) -> str:
    if path not in cache:
        try:
            cache[path] = Path(path).read_text().splitlines()
        except OSError:
            cache[path] = []
    lines = cache[path]
    return lines[line - 1] if 0 < line <= len(lines) else ""


def _cmd_check(args: argparse.Namespace) -> int:
    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:
        print(f"pinapi check: no such file or directory: {', '.join(missing)}", file=sys.stderr)
        return 2
    if importlib.util.find_spec("mypy") is None:
        print("pinapi check: mypy is not installed (pip install mypy)", file=sys.stderr)
        return 2
    stubs = contract_stubs()
    checkers = ["mypy"]
    if importlib.util.find_spec("pyright") is not None and not args.mypy_only:
        checkers.append("pyright")
    with ThreadPoolExecutor() as pool:  # the checkers run side by side
        runs = [pool.submit(RUNNERS[c], args.paths, stubs) for c in checkers]
        diags = [d for run in runs for d in run.result()]
    # pyright's "type is unknown" follows from another error in the same file
    primary = {d.path for d in diags if not d.code.startswith("reportUnknown")}
    diags = [d for d in diags if d.path not in primary or not d.code.startswith("reportUnknown")]
    seen: dict[tuple[str, int, str], list[str]] = {}
    cache: dict[str, list[str]] = {}
    for d in sorted(diags, key=lambda d: (d.path, d.line, d.checker)):
        rule, instead = explain(d, _source_line(d.path, d.line, cache))
        key = (d.path, d.line, rule)
        if key in seen:
            seen[key].append(d.checker)
            continue
        seen[key] = [d.checker]
        print(f"{d.path}:{d.line}: {rule}{'; use ' + instead if instead else ''}  [{d.checker} {d.code}: {d.message}]")
    print(f"pinapi check: {len(seen)} misuse{'s' if len(seen) != 1 else ''} found by "
          f"{' and '.join(checkers)}" if seen else f"pinapi check: clean ({' and '.join(checkers)})")  # fmt: skip
    return 1 if seen else 0


def add_check_parser(sub: Any) -> None:
    p = sub.add_parser("check", help="type-check driver code against the pin contract")
    p.add_argument("paths", nargs="+", help="files or directories of driver code")
    p.add_argument("--mypy-only", action="store_true", help="skip pyright even when it is installed")
    p.set_defaults(func=_cmd_check)
