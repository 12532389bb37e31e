"""``pinapi run [PATH...]``: type-check scenario code against the contract,
run every ``scenario()`` under the corpus rules, and print the pin ledger
summary. Without a PATH it is the main job over the repository's examples/.

The rules (``check_scenario()``): the debug pin counter is on and warnings are
errors while a scenario runs; afterwards it must have released as many pins as
it acquired, left no pin of its own live in the ledger, and freed every folio
it allocated (a reference it kept would keep one alive).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import importlib.util
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

from .check import contract_stubs, run_mypy, run_pyright
from .checkout import ROOT, in_checkout, require_checkout
from .._mm.debug import debug_pins_enabled, set_debug_pins
from .._mm.page_alloc import vmstat
from .._pin import pin_ledger

__all__ = ["add_run_parser", "check_scenario", "find_scenarios", "load_example", "run_scenarios", "type_check"]



def find_scenarios(paths: list[Path]) -> list[Path]:
    """Every ``*.py`` under *paths* that defines ``scenario()``, skipping the
    misuse gallery (it is for the type checkers)."""
    files: list[Path] = []
    for path in paths:
        candidates = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        files += [f for f in candidates if "misuse" not in f.parts and "def scenario(" in f.read_text()]
    return files


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
def _debug_pins() -> Iterator[None]:
    was = debug_pins_enabled()
    set_debug_pins(True)
    try:
        yield
    finally:
        if not was and not pin_ledger():
            set_debug_pins(False)


def check_scenario(scenario: Callable[[], None]) -> dict[str, int]:
    """Run *scenario* under the corpus rules; AssertionError names the broken
    one. Returns the vmstat deltas."""
    live_before = {r.seq for r in pin_ledger()}
    before = vmstat.snapshot()
    with warnings.catch_warnings(), _debug_pins():
        warnings.simplefilter("error")
        scenario()
        gc.collect()
    after = vmstat.snapshot()
    delta = {k: after[k] - before[k] for k in after}
    acquired, released = delta["nr_foll_pin_acquired"], delta["nr_foll_pin_released"]
    assert acquired == released, f"pins acquired {acquired} != released {released}"
    live = [r for r in pin_ledger() if r.seq not in live_before]
    assert not live, f"pins still live: {live}"
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
    """mypy and pyright, strict, against the contract, with the project's own
    settings (mypy.ini; pyproject.toml: an unneeded ignore is an error, so
    every misuse line must still be rejected), run side by side: one line per
    error."""
    args = [str(p.resolve()) for p in paths]
    project = in_checkout()
    stubs = None if project else contract_stubs()
    with ThreadPoolExecutor(2) as pool:
        mypy = pool.submit(run_mypy, args, stubs, ROOT / "mypy.ini" if project else None)
        pyright = pool.submit(run_pyright, args, stubs, ROOT / "pyproject.toml" if project else None)
        found = mypy.result() + pyright.result()
    return [f"{d.path}:{d.line}: error: {d.message}  [{d.checker} {d.code}]" for d in found]


def _cmd_run(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    if not args.paths:
        require_checkout("pinapi run without a PATH (the examples/ corpus)")
    paths = [Path(p) for p in args.paths] or [ROOT / "examples"]
    problems = [] if args.no_check else type_check(paths)
    for line in problems:
        print(f"TYPE {line}")
    t1 = time.perf_counter()
    ran, failures = run_scenarios(find_scenarios(paths))
    stat = vmstat.snapshot()
    live = pin_ledger()
    for line in failures:
        print(f"FAIL {line}")
    t2 = time.perf_counter()
    checked = "skipped" if args.no_check else f"{len(problems)} errors in {t1 - t0:.2f}s"
    print(
        f"type check: {checked}\n"
        f"scenarios: {ran} run, {len(failures)} failed in {t2 - t1:.2f}s\n"
        f"pin ledger: acquired {stat['nr_foll_pin_acquired']} released "
        f"{stat['nr_foll_pin_released']} live {sum(r.live for r in live)} "
        f"(records {len(live)})"
    )
    return 1 if problems or failures or live else 0


def add_run_parser(sub: Any) -> None:
    p = sub.add_parser("run", help="type-check the examples, run their scenarios, print the pin ledger")
    p.add_argument("paths", nargs="*", metavar="PATH",
                   help="files or folders of scenarios (default: the repository's examples/)")
    p.add_argument("--no-check", action="store_true", help="skip the type check")
    p.set_defaults(func=_cmd_run)
