"""``pinapi check PATH...``: type-check driver code against the pin contract.

The rules:

- Input: every PATH exists; a file is Python source (``.py``, ``.pyi``); a
  directory holds some (hidden folders, ``__pycache__`` and virtual
  environments are skipped); each
  file parses; no two files are the same module to mypy. Otherwise one line
  naming the problem, exit 2.
- Checkers (``--checker``, default both): mypy (strict, deprecations as
  errors, its incremental cache in ``--cache-dir``; with ``--daemon`` a
  dmypy that stays running) and pyright (strict,
  ``reportDeprecated`` an error), side by side, against the contract: the
  ``pinapi-stubs`` package of an installed pinapi, or ``stubs/`` beside a
  source tree. One that cannot start is a one-line warning and the others
  run; none able to start is exit 2.
- Findings: each error is matched to the pin rule it breaks (``RULES``), by
  its message and its source line; errors on one line that break one rule
  are one finding naming each checker once; a rule that is about a name
  (get_user_pages() is deprecated) is one finding per file, wherever each
  checker reports it (mypy at the import, pyright at the call). An error
  that breaks no pin rule is a type error: reported, counted apart, never a
  failure. The code's own ignore comments are honoured.
- Balance: the static balance analysis (``balance``) runs beside the
  checkers: a pin, bvec or plain reference leaked on some path, released
  twice or used after release, each a pin-rule finding (``balance.RULES``);
  ``--strict-balance`` also reports a handle passed where it cannot see.
- Exit status: 0 no pin-rule finding, 1 pin-rule findings, 2 a usage error
  or a tool that failed.
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from . import CommandError, balance
from .checkout import ROOT, in_checkout
from .report import FORMATS, TYPE_ERROR, Diagnostic, Finding, Report, display_path

__all__ = [
    "CHECKERS", "RULES", "Rule", "CheckerUnavailable", "add_check_parser", "analyses", "check", "collect_sources",
    "contract_stubs", "explain", "findings", "run_checkers", "run_mypy", "run_pyright",
]  # fmt: skip

#: The checkers the contract is tested with, in the order their findings name them.
CHECKERS: Final = ("mypy", "pyright")
INSTALL_HINT: Final = "pip install 'pinapi[check]' brings the tested checkers, and node.js for pyright"
DEFAULT_CACHE: Final = Path(".pinapi_cache")


class CheckerUnavailable(Exception):
    """A checker that cannot start here: not installed, or no working node."""


def contract_stubs() -> Path | None:
    """``stubs/`` of a source tree, or None when the installed ``pinapi-stubs``
    package is found by the checkers themselves."""
    return ROOT / "stubs" if in_checkout() else None


# -- input -----------------------------------------------------------------------
def _module_name(path: Path) -> str:
    """The module mypy takes *path* for: its name under the packages
    (``__init__.py`` folders) it is in."""
    parts = [] if path.stem == "__init__" else [path.stem]
    folder = path.parent
    while (folder / "__init__.py").is_file() or (folder / "__init__.pyi").is_file():
        parts.insert(0, folder.name)
        folder = folder.parent
    return ".".join(parts)


def _python_files(folder: Path) -> list[Path]:
    """The Python source under *folder*, skipping hidden folders,
    ``__pycache__`` and virtual environments."""
    found: list[Path] = []
    for parent, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__pycache__"
                         and not (Path(parent, d) / "pyvenv.cfg").is_file())  # fmt: skip
        found += [Path(parent, f) for f in sorted(files) if f.endswith((".py", ".pyi"))]
    return found


def collect_sources(paths: Sequence[str]) -> list[Path]:
    """The Python files *paths* name, each once; CommandError for a bad input
    (see the module's rules)."""
    files: dict[Path, Path] = {}
    for name in paths:
        path = Path(name)
        if not path.exists():
            raise CommandError(f"{name}: no such file or directory")
        if path.is_dir():
            found = _python_files(path)
            if not found:
                raise CommandError(f"{name}: no Python source (.py or .pyi) in this directory")
        elif path.suffix in (".py", ".pyi"):
            found = [path]
        else:
            raise CommandError(f"{name}: not Python source (.py or .pyi)")
        for f in found:
            files.setdefault(f.resolve(), f)
    modules: dict[str, Path] = {}
    for f in files.values():
        try:
            compile(f.read_bytes(), str(f), "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
        except (SyntaxError, ValueError) as e:
            where = f"{f}:{e.lineno}:{e.offset}" if isinstance(e, SyntaxError) and e.lineno else str(f)
            raise CommandError(f"{where}: syntax error: {e.msg if isinstance(e, SyntaxError) else e}") from None
        module = _module_name(f)
        other = modules.setdefault(module, f)
        if other is not f:
            hint = "" if "." in module or f.stem == "__init__" else ", or make their folders packages (__init__.py)"
            raise CommandError(f"{other} and {f} are both module {module!r} to mypy: check them in separate runs{hint}")
    return list(files.values())


# -- the checkers ----------------------------------------------------------------
_MYPY_LINE: Final = re.compile(
    r"^(?P<path>.+?):(?P<line>\d+):(?:(?P<col>\d+):)? error: (?P<msg>.*?)(?:  \[(?P<code>[\w-]+)\])?$"
)


def run_mypy(paths: list[str], stubs: Path | None, project: Path | None = None,
             cache: Path | None = None, daemon: Path | None = None) -> list[Diagnostic]:  # fmt: skip
    """mypy --strict over *paths* against the contract, its settings and its
    incremental cache in *cache* (else a temporary file and mypy's own
    cache); with *daemon* (a status file), through a mypy daemon (dmypy) that
    stays running. With *project* (a mypy.ini), that project's own settings
    instead, run from its folder."""
    if importlib.util.find_spec("mypy") is None:
        raise CheckerUnavailable("mypy is not installed")
    with tempfile.TemporaryDirectory() as tmp:
        config = project or (cache or Path(tmp)) / "mypy.ini"
        if project is None:
            config.write_text(
                "[mypy]\nstrict = True\nwarn_unused_ignores = False\nenable_error_code = deprecated\n"
                + (f"mypy_path = {stubs}\n" if stubs else "")
            )
        mypy = ["-m", "mypy.dmypy", "--status-file", str(daemon), "run", "--"] if daemon else ["-m", "mypy"]
        r = subprocess.run(
            [sys.executable, *mypy, "--config-file", str(config), "--show-error-codes",
             "--show-column-numbers", "--no-pretty", "--no-error-summary", "--hide-error-context",
             "--no-color-output", *(["--cache-dir", str(cache / "mypy")] if cache else []), *paths],
            capture_output=True, text=True, cwd=project.parent if project else None,
        )  # fmt: skip
    base = project.parent if project else Path.cwd()
    out = [
        Diagnostic("mypy", display_path(str(base / m["path"])), int(m["line"]), int(m["col"] or 1),
                   m["code"] or "misc", m["msg"])  # fmt: skip
        for m in map(_MYPY_LINE.match, r.stdout.splitlines())
        if m
    ]
    if r.returncode not in (0, 1) or (r.returncode == 1 and not out):
        said = [line for line in (r.stdout + r.stderr).splitlines() if line.strip()]
        first = next((line for line in said if "error:" in line), said[-1] if said else f"exit {r.returncode}")
        raise CommandError(f"mypy failed: {first}")
    return out


def run_pyright(paths: list[str], stubs: Path | None, project: Path | None = None) -> list[Diagnostic]:
    """pyright (strict) over *paths* against the contract; with *project* (a
    pyproject.toml), that project's own settings instead. It keeps no cache."""
    if importlib.util.find_spec("pyright") is None:
        raise CheckerUnavailable("pyright is not installed")
    config: dict[str, Any] = {"typeCheckingMode": "strict", "reportDeprecated": "error"}
    if stubs:
        config["stubPath"] = str(stubs)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "pyrightconfig.json").write_text(json.dumps(config))
        r = subprocess.run(
            [sys.executable, "-m", "pyright", "--outputjson", "--pythonpath", sys.executable,
             "-p", str(project or Path(tmp) / "pyrightconfig.json"), *paths],
            capture_output=True, text=True,
        )  # fmt: skip
    said = [line for line in (r.stderr + r.stdout).splitlines() if line.strip()]
    last = said[-1] if said else f"exit status {r.returncode}"
    try:
        report = json.loads(r.stdout)
    except json.JSONDecodeError:
        raise CheckerUnavailable(f"pyright cannot start: {last}") from None
    if "generalDiagnostics" not in report:
        raise CommandError(f"pyright failed: {last}")
    return [
        Diagnostic("pyright", display_path(d["file"]), d["range"]["start"]["line"] + 1,
                   d["range"]["start"]["character"] + 1, d.get("rule", "error"), d["message"].splitlines()[0])
        for d in report["generalDiagnostics"]
        if d["severity"] == "error"
    ]  # fmt: skip


def run_checkers(names: Sequence[str], paths: list[str], stubs: Path | None, *,
                 projects: Mapping[str, Path] | None = None, cache: Path | None = None,
                 daemon: Path | None = None) -> tuple[list[Diagnostic], list[str], list[str]]:  # fmt: skip
    """Run the checkers *names* side by side (mypy's *cache* and *daemon* as
    ``run_mypy()`` takes them): (their errors, those that ran,
    a warning per one that could not start). CommandError when none could,
    or when one failed on the input."""
    projects = projects or {}
    start: dict[str, Callable[[], list[Diagnostic]]] = {
        "mypy": lambda: run_mypy(paths, stubs, projects.get("mypy"), cache, daemon),
        "pyright": lambda: run_pyright(paths, stubs, projects.get("pyright")),
    }
    with ThreadPoolExecutor(len(names)) as pool:
        runs = {name: pool.submit(start[name]) for name in names}
        diags: list[Diagnostic] = []
        ran: list[str] = []
        unavailable: list[str] = []
        for name, run in runs.items():
            try:
                diags += run.result()
                ran.append(name)
            except CheckerUnavailable as e:
                unavailable.append(str(e))
    if not ran:
        raise CommandError(f"no type checker can start: {'; '.join(unavailable)} ({INSTALL_HINT})")
    warnings = [f"{why}; checked with {' and '.join(ran)} only ({INSTALL_HINT})" for why in unavailable]
    return diags, ran, warnings


# -- the pin rules -----------------------------------------------------------------
@dataclass(frozen=True)
class Rule:
    """A pin rule: its id, what it says, the call to use instead; *per_file*:
    every report of it in one file is one finding."""

    id: str
    summary: str
    instead: str
    per_file: bool = False


_HANDLE: Final = r"(PinnedPages?|PinnedBvec|BvecSegment|KernelPage|SgTable|ScatterList|Page)(\[[\w, \[\]]+\])?"
_RELEASE_PLAIN: Final = r"(put_page|release_pages|get_page|set_page_dirty|set_page_dirty_lock)"
_UNPIN: Final = r"(unpin_user_pages?|unpin_user_pages_dirty_lock|vaddr_unpin_pages_dirty_lock)"

_R: Final = {r.id: r for r in [
    Rule("pin-owner-required", "a pin needs an owner: struct vaddr_pin names an mm, a file or both (EINVAL otherwise)",
         "VaddrPin(mm=mm), VaddrPin(file=file) or both"),
    Rule("pin-handle-forged", "a handle cannot be forged: no __new__, no subclass, no register(), no __class__ assignment",
         "the handle's factory: vaddr_pin_pages(), get_user_bvec(), alloc_page(), sg_alloc_table*()"),
    Rule("pin-sg-kind", "an empty sg table names the kind it will hold when it is allocated",
         "sg_alloc_table(nents, PinnedPage[Write]) (or Page, KernelPage, PinnedPage[Read], ...)"),
    Rule("pin-handle-constructed", "handles and pages have no public constructor: each comes from the call that took it",
         "vaddr_pin_pages(), alloc_page(), sg_alloc_table*(); a Page from get_user_pages_remote()"),
    Rule("pin-handle-opaque", "handles are opaque: no page comes out of a pin",
         "pin.read()/pin.write() or memcpy_*_page(pin, ...); release with unpin_user_page()"),
    Rule("pin-gup-deprecated", "get_user_pages() is deprecated: it takes plain references",
         "vaddr_pin_pages() to touch page data; get_user_pages_remote()/follow_page() for struct page only",
         per_file=True),
    Rule("pin-foll-internal", "FOLL_PIN and FOLL_GET are set by GUP itself, never at a call site",
         "vaddr_pin_pages() (it sets FOLL_PIN)"),
    Rule("pin-flags-unnamed", "gup_flags are the named FOLL_* constants (or 0)", "FOLL_WRITE, FOLL_FORCE, FOLL_LONGTERM"),
    Rule("pin-longterm-plain", "FOLL_LONGTERM requires FOLL_PIN: a plain reference cannot be long-term",
         "vaddr_pin_pages(..., FOLL_LONGTERM, ...)"),
    Rule("pin-flags-untracked", "flags the checker cannot follow (built up from 0) go only to the pin API, "
         "which checks every bit", "FOLL_WRITE, FOLL_FORCE or 0 as constants or a conditional expression"),
    Rule("pin-write-read-pin", "page data is written only through a pin taken with FOLL_WRITE",
         "FOLL_WRITE in the flags; flags known only at run time: pins.for_write() (EPERM if they lack it)"),
    Rule("pin-dirty-read-pin", "a read pin is released clean: make_dirty only on a pin taken with FOLL_WRITE "
         "(EINVAL otherwise)", "make_dirty=False, or FOLL_WRITE in the flags if the device writes"),
    Rule("pin-bvec-put-page", "a bvec segment is not a page reference: a bvec is released only as a whole",
         "put_user_bvec()"),
    Rule("pin-bvec-unpin", "a bvec is released only by put_user_bvec(), not by the per-page unpin calls",
         "put_user_bvec()"),
    Rule("pin-bvec-on-pins", "put_user_bvec() releases a PinnedBvec only; per-page pins are not a bvec",
         "unpin_user_pages() / unpin_user_pages_dirty_lock()"),
    Rule("pin-sg-one-kind", "an sg table holds one kind of page, so sg_page() gives back what went in",
         "separate tables: SgTable[PinnedPage] released by unpin_user_page(), SgTable[Page] by put_page()"),
    Rule("pin-list-mixed", "a list mixing pinned and plain pages cannot be released correctly",
         "separate lists: unpin_user_pages() for the pins, release_pages() for the plain pages"),
    Rule("pin-plain-data", "a plain reference must not touch page data (pin_user_pages.rst case 5)",
         "vaddr_pin_pages() and memcpy_to_page(pin, ...), or a kernel page from alloc_page()"),
    Rule("pin-put-page-on-pin", "put_page() and the plain-reference calls cannot release a pin taken by vaddr_pin_pages()",
         "unpin_user_page() / unpin_user_pages() / unpin_user_pages_dirty_lock()"),
    Rule("pin-stored-as-page", "a pin is not a Page: stored as one, it will be released as one",
         "list[PinnedPage] and SgTable[PinnedPage], released by unpin_user_pages()"),
    Rule("pin-unpin-plain", "unpin releases pins only; a plain reference or a kernel page is not a pin", "put_page()"),
    Rule(TYPE_ERROR, "an ordinary type error: it breaks no pin rule", ""),
]}  # fmt: skip

#: Every rule, by id; TYPE_ERROR is the one for errors that break none.
RULES: Final[Mapping[str, Rule]] = _R

#: (pattern, rule): an error breaks the first rule whose pattern matches its
#: message, a newline, and the source line it is on.
_MATCHERS: Final[list[tuple[re.Pattern[str], Rule]]] = [(re.compile(p, re.S), _R[rule]) for p, rule in [
    (r"(variants? of \"VaddrPin\"|No overloads for \"__init__\"|in function \"__init__\")[^\n]*\n.*VaddrPin\(",
     "pin-owner-required"),
    (r"\"__class__\"|final class|marked final|\"register\"|variable has type \"type\[|arguments for \"__new__\""
     r"|positional argument[^\n]*\n.*\.__new__\(",
     "pin-handle-forged"),
    (r"\"kind\"", "pin-sg-kind"),
    (rf"Too (few|many) arguments for \"{_HANDLE}\"|\"_NoPublicConstructor\""
     rf"|(Expected \d+ (more )?positional argument|Missing positional)[^\n]*\n.*\b{_HANDLE}\(", "pin-handle-constructed"),
    (rf"\"{_HANDLE}\" has no attribute \"_\w+\"|attribute \"_\w+\" for class \"{_HANDLE}\""
     rf"|(indexed assignment \(|\"__setitem__\" method not defined on type )\"{_HANDLE}\"", "pin-handle-opaque"),
    (r"\bget_user_pages\b[^\n]*deprecated", "pin-gup-deprecated"),
    (r"FOLL_(PIN|GET)", "pin-foll-internal"),
    (r"type \"Literal\[[1-9]\d*\]\"[^\n]*(GupFlags|_GupOnly)", "pin-flags-unnamed"),
    (r"type \"PinFlags(\[\w+\])?\"", "pin-longterm-plain"),
    (r"type \"int\"[^\n]*(GupFlags|\"(gup|foll)_flags\")", "pin-flags-untracked"),
    (r"\[(Read|MaybeWrite)\].*(\"(write|for_write)\"|memcpy_to_page)|(\"(write|for_write)\"|memcpy_to_page).*\[(Read|MaybeWrite)\]",
     "pin-write-read-pin"),
    (r"\[Read\][^\n]*expected \"(Iterable\[)?Pinned\w*\[(Write|MaybeWrite)\]|make_dirty[^\n]*Literal\[False\]"
     r"|No overloads for \"\w+\"[^\n]*\n.*make_dirty=True", "pin-dirty-read-pin"),
    (rf"Bvec.*{_RELEASE_PLAIN}|{_RELEASE_PLAIN}.*Bvec", "pin-bvec-put-page"),
    (rf"(?i:bvec).*{_UNPIN}|{_UNPIN}.*(?i:bvec)", "pin-bvec-unpin"),
    (r"put_user_bvec", "pin-bvec-on-pins"),
    (r"_P\b|SgTable|ScatterList|sg_set_page|sg_alloc_table", "pin-sg-one-kind"),
    (r"List item \d+ has incompatible type \"(Pinned)?Page(\[\w+\])?\"|list\[PinnedPage(\[\w+\])? \| Page\]|list\[Page \| PinnedPage(\[\w+\])?\]",
     "pin-list-mixed"),
    (r"memcpy_(to|from)_page[^\n]*type \"Page\"|type \"Page\"[^\n]*memcpy_(to|from)_page"
     r"|\"Page\" has no attribute \"(read|write)\"|attribute \"(read|write)\" for class \"Page\"", "pin-plain-data"),
    (rf"PinnedPage.*{_RELEASE_PLAIN}|{_RELEASE_PLAIN}.*PinnedPage", "pin-put-page-on-pin"),
    (r"Pinned\w*[^\n]*(expected|declared type) \"[^\"]*\bPage\b", "pin-stored-as-page"),
    (rf"^(?=.*{_UNPIN})[^\n]*type \"[^\"]*\b(Kernel)?Page\b|No overloads for \"{_UNPIN}\"", "pin-unpin-plain"),
]]  # fmt: skip


def explain(diag: Diagnostic, source_line: str) -> Rule:
    """The pin rule *diag* breaks, by its message and the line it is on;
    ``RULES[TYPE_ERROR]`` when it breaks none."""
    text = f"{diag.message}\n{source_line}"
    return next((rule for pattern, rule in _MATCHERS if pattern.search(text)), _R[TYPE_ERROR])


def _source_line(path: str, line: int, cache: dict[str, list[str]]) -> str:
    if path not in cache:
        try:
            cache[path] = Path(path).read_text(errors="replace").splitlines()
        except OSError:
            cache[path] = []
    lines = cache[path]
    return lines[line - 1] if 0 < line <= len(lines) else ""


def findings(diags: Sequence[Diagnostic]) -> list[Finding]:
    """The checkers' errors as findings (see the module's rules). pyright's
    "type is unknown" in a file with another error follows from it, and is
    dropped."""
    primary = {d.path for d in diags if not d.code.startswith("reportUnknown")}
    diags = [d for d in diags if d.path not in primary or not d.code.startswith("reportUnknown")]
    groups: dict[tuple[str, int, str], tuple[Rule, list[Diagnostic]]] = {}
    cache: dict[str, list[str]] = {}
    for d in sorted(diags, key=lambda d: (d.path, d.line, d.col, CHECKERS.index(d.tool))):
        rule = explain(d, _source_line(d.path, d.line, cache))
        key = (d.path, 0 if rule.per_file else d.line, rule.id)
        groups.setdefault(key, (rule, []))[1].append(d)
    out: list[Finding] = []
    for rule, ds in groups.values():
        first = ds[0]
        tools = tuple(t for t in CHECKERS if any(d.tool == t for d in ds))
        message = first.message if rule.id == TYPE_ERROR else rule.summary
        also = tuple(sorted({d.line for d in ds} - {first.line}))
        out.append(Finding(first.path, first.line, first.col, rule.id, message, rule.instead, tools, tuple(ds), also))
    return out


# -- the command ---------------------------------------------------------------------
#: An analysis: the sources in, a report of what it found out.
Analysis = Callable[[list[Path]], Report]


def _type_check(checkers: Sequence[str], cache: Path, daemon: bool) -> Analysis:
    def analysis(sources: list[Path]) -> Report:
        paths = [str(s) for s in sources]
        status = cache / "dmypy.json" if daemon else None
        diags, ran, warnings = run_checkers(checkers, paths, contract_stubs(), cache=cache, daemon=status)
        return Report(ran, findings(diags), warnings, {r.id: r.summary for r in RULES.values()})

    return analysis


def _balance(strict: bool) -> Analysis:
    def analysis(sources: list[Path]) -> Report:
        found = [Finding(display_path(f.path), f.line, f.col, f.rule, f.message, tools=("balance",))
                 for f in balance.analyze_paths(sources, strict=strict)]  # fmt: skip
        return Report(["balance"], found, [], dict(balance.RULES))

    return analysis


def analyses(checker: str, cache: Path, daemon: bool = False, strict_balance: bool = False) -> list[Analysis]:
    """What ``pinapi check`` runs over the sources, each giving a report: the
    type checkers (*checker*: ``all`` or one of CHECKERS) and the static
    balance analysis, whose rule ids are pin rules."""
    return [_type_check(CHECKERS if checker == "all" else (checker,), cache, daemon), _balance(strict_balance)]


def check(paths: Sequence[str], checker: str = "all", cache: Path = DEFAULT_CACHE, daemon: bool = False,
          strict_balance: bool = False) -> Report:  # fmt: skip
    """``pinapi check``: every analysis over the sources *paths* name, side by
    side (the balance analysis runs while the checkers do)."""
    sources = collect_sources(paths)
    _prepare_cache(cache)
    with ThreadPoolExecutor() as pool:
        runs = [pool.submit(analysis, sources) for analysis in analyses(checker, cache, daemon, strict_balance)]
        return Report.combine(run.result() for run in runs)


def _prepare_cache(cache: Path) -> None:
    """The cache folder, marked as one (CACHEDIR.TAG) and ignored by git."""
    try:
        cache.mkdir(parents=True, exist_ok=True)
        for name, text in ((".gitignore", "# created by pinapi check\n*\n"),
                           ("CACHEDIR.TAG", "Signature: 8a477f597d28d172789f06886806bc55\n# pinapi check's cache\n")):
            if not (cache / name).exists():
                (cache / name).write_text(text)
    except OSError as e:
        raise CommandError(f"cannot create the cache folder {cache}: {e.strerror} (choose one with --cache-dir)") from None


def _cmd_check(args: argparse.Namespace) -> int:
    report = check(args.paths, args.checker, args.cache_dir, args.daemon, args.strict_balance)
    for warning in report.warnings:
        print(f"pinapi check: warning: {warning}", file=sys.stderr)
    sys.stdout.write(FORMATS[args.format](report))
    return report.status


def add_check_parser(sub: Any) -> None:
    p = sub.add_parser(
        "check", help="type-check driver code against the pin contract",
        description="Type-check driver code against the pin contract with mypy and pyright; each error is "
                    "named by the pin rule it breaks and the call to use instead.",
        epilog="exit status: 0 no pin-rule finding (other type errors are reported, and do not fail), "
               "1 pin-rule findings, 2 a usage error, a bad input or a tool that failed",
    )  # fmt: skip
    p.add_argument("paths", nargs="+", metavar="PATH", help="files or directories of driver code")
    p.add_argument("--checker", choices=("all", *CHECKERS), default="all",
                   help="which type checker to run (default: all; one that cannot start is a warning)")
    p.add_argument("--format", choices=tuple(FORMATS), default="text",
                   help="text (file:line:col: error: ... [rule]), json, sarif (2.1.0) or github (annotations)")
    p.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE, metavar="DIR",
                   help=f"mypy's incremental cache (default: {DEFAULT_CACHE} in the current directory)")
    p.add_argument("--daemon", action="store_true",
                   help="run mypy as a daemon (dmypy) that stays running for the next check, its status file "
                        "DIR/dmypy.json: the editing loop's fastest re-check")
    p.add_argument("--strict-balance", action="store_true",
                   help="also report a pin passed to a call the balance analysis cannot see into (pin-unknown)")
    p.set_defaults(func=_cmd_check)
