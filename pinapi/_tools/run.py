"""``pinapi run [PATH...]``: type-check scenario code against the contract,
run every ``scenario()`` under the corpus rules, and print the pin ledger
summary. Without a PATH it is the main job over the repository's examples/
(which needs the source checkout).

A scenario is a module-level ``scenario()`` in a ``.py`` file under a PATH
(files under a ``misuse`` folder are skipped: they are for the type
checkers). The rules (``check_scenario()``):

- while it runs, the debug pin counter is on and warnings are errors;
- it runs in a cgroup: every MM it created is exited for it when it returns,
  as a process's exit would (a driver does not end processes);
- then it must have released as many pins as it acquired, left no pin of its
  own live in the ledger, and freed every folio it allocated (a reference it
  kept would keep one alive).

Scenarios are isolated: each is measured from its own start, so one that
leaks fails alone. What it leaked stays leaked, as in the kernel: its pins
stay live (the debug counter stays on with them) and the ledger summary
counts them.

Exit status: 0 clean; 1 type errors, failed scenarios or pins left live; 2 a
usage error or a bad input.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import importlib.util
import sys
import time
import warnings
from collections.abc import Callable, Generator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import ModuleType
from typing import Any

from .check import CHECKERS, collect_sources, contract_stubs, run_checkers
from .checkout import ROOT, in_checkout, require_checkout
from .._mm.debug import debug_pins_enabled, set_debug_pins
from .._mm.errors import KernelError
from .._mm.mmap import cgroup
from .._mm.page_alloc import vmstat
from .._pin import pin_ledger

__all__ = ["add_run_parser", "check_scenario", "find_scenarios", "load_example", "run_scenarios", "type_check"]


def find_scenarios(paths: list[Path]) -> list[Path]:
    """Every ``.py`` file under *paths* that defines ``scenario()``, skipping
    the misuse gallery (it is for the type checkers)."""
    files = collect_sources([str(p) for p in paths])
    return [f for f in files if f.suffix == ".py" and "misuse" not in f.parts and "def scenario(" in f.read_text()]


def _exec(name: str, path: Path, package_dir: Path | None = None) -> ModuleType:
    locations = [str(package_dir)] if package_dir else None
    spec = importlib.util.spec_from_file_location(name, path, submodule_search_locations=locations)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def load_example(path: Path) -> ModuleType:
    """Import an example file. One in a package directory (``__init__.py``,
    as examples/drivers) is imported as a submodule, so its relative imports
    of shared code work."""
    path = path.resolve()
    parent = path.parent
    if not (parent / "__init__.py").exists():
        return _exec(f"pinapi_example_{'_'.join(path.with_suffix('').parts[-3:])}", path)
    package = f"pinapi_examples_{parent.name}"
    if package not in sys.modules:
        _exec(package, parent / "__init__.py", parent)
    return importlib.import_module(package if path.stem == "__init__" else f"{package}.{path.stem}")


@contextmanager
def _debug_pins() -> Generator[None]:
    """The debug pin counter on meanwhile. It changes only while no pin is
    live, so after a leak it stays on."""
    was = debug_pins_enabled()
    if not was:
        set_debug_pins(True)
    try:
        yield
    finally:
        if not was:
            with suppress(KernelError):
                set_debug_pins(False)


def check_scenario(scenario: Callable[[], None]) -> dict[str, int]:
    """Run *scenario* under the corpus rules; AssertionError names the broken
    one. Returns the vmstat deltas."""
    live_before = {r.seq for r in pin_ledger()}
    before = vmstat.snapshot()
    with _debug_pins(), cgroup() as mms, warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", ResourceWarning)  # a handle collected still pinned: the ledger names the pin
        try:
            scenario()
        finally:
            for mm in mms:
                mm.exit()
            gc.collect()
    after = vmstat.snapshot()
    delta = {k: after[k] - before[k] for k in after}
    acquired, released = delta["nr_foll_pin_acquired"], delta["nr_foll_pin_released"]
    live = [r for r in pin_ledger() if r.seq not in live_before]
    assert acquired == released and not live, f"pins acquired {acquired}, released {released}, still live: {live}"
    allocated, freed = delta["nr_folios_allocated"], delta["nr_folios_freed"]
    assert allocated == freed, f"{allocated} folios allocated, {freed} freed: a reference was kept"
    return delta


def run_scenarios(files: list[Path]) -> tuple[int, list[str]]:
    """Run each file's ``scenario()`` under ``check_scenario()``; returns how
    many ran and the failures."""
    failures: list[str] = []
    for f in files:
        try:
            check_scenario(load_example(f).scenario)
        except Exception as e:  # a scenario failing is a finding, not a crash
            failures.append(f"{f}: {type(e).__name__}: {e}")
    return len(files), failures


def type_check(paths: list[Path]) -> list[str]:
    """mypy and pyright, strict, against the contract, side by side; in a
    source checkout with the project's own settings (mypy.ini; pyproject.toml:
    an unneeded ignore is an error, so every misuse line must still be
    rejected). One line per error; a checker that cannot start is a warning."""
    projects = {"mypy": ROOT / "mypy.ini", "pyright": ROOT / "pyproject.toml"} if in_checkout() else None
    files = [str(p.resolve()) for p in collect_sources([str(p) for p in paths])]
    found, _, unavailable = run_checkers(CHECKERS, files, contract_stubs(), projects=projects)
    for warning in unavailable:
        print(f"pinapi run: warning: {warning}", file=sys.stderr)
    return [f"{d.path}:{d.line}:{d.col}: error: {d.message}  [{d.tool} {d.code}]" for d in found]


def _misuse_markers(paths: list[Path]) -> tuple[int, int]:
    """(marked lines, files) of the misuse gallery under *paths*: each line
    carries the error each checker must report there."""
    files = [f for f in collect_sources([str(p) for p in paths]) if "misuse" in f.parts]
    marked = [line for f in files for line in f.read_text().splitlines() if "# type: ignore[" in line]
    return len(marked), len(files)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _cmd_run(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    if not args.paths:
        require_checkout("the examples/ corpus (pinapi run without a PATH)")
    paths = [Path(p) for p in args.paths] or [ROOT / "examples"]
    scenarios = find_scenarios(paths)
    problems = [] if args.no_check else type_check(paths)
    for line in problems:
        print(f"TYPE {line}")
    t1 = time.perf_counter()
    ran, failures = run_scenarios(scenarios)
    stat = vmstat.snapshot()
    live = pin_ledger()
    for line in failures:
        print(f"FAIL {line}")
    t2 = time.perf_counter()
    if args.no_check:
        checked = "skipped"
    else:
        checked = f"{' and '.join(CHECKERS)}, {_count(len(problems), 'error')} in {t1 - t0:.2f}s"
        lines, files = _misuse_markers(paths) if in_checkout() else (0, 0)
        if lines and not problems:
            checked += (f"; every misuse example rejected ({lines} marked lines in {files} files, "
                        "each with the error its markers name)")  # fmt: skip
    print(
        f"type check: {checked}\n"
        f"scenarios: {ran} run, {len(failures)} failed in {t2 - t1:.2f}s\n"
        f"pin ledger: acquired {stat['nr_foll_pin_acquired']} released {stat['nr_foll_pin_released']}, "
        f"{_count(sum(r.live for r in live), 'pin')} live in {_count(len(live), 'record')} "
        "(a record is one pinning call that still holds pins)"
    )
    return 1 if problems or failures or live else 0


def add_run_parser(sub: Any) -> None:
    p = sub.add_parser(
        "run", help="type-check scenario code, run its scenarios, print the pin ledger",
        description="Type-check the code under each PATH against the pin contract, run every scenario() "
                    "there under the corpus rules (each in isolation; the MMs it created are exited for it), "
                    "and print the pin ledger. Without a PATH: the repository's examples/.",
        epilog="exit status: 0 clean, 1 type errors, failed scenarios or pins left live, 2 usage error",
    )  # fmt: skip
    p.add_argument("paths", nargs="*", metavar="PATH",
                   help="files or folders of scenario code (default: the repository's examples/)")
    p.add_argument("--no-check", action="store_true", help="skip the type check")
    p.set_defaults(func=_cmd_run)
