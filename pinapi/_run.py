"""``pinapi run``: execute every example scenario against the model and print
the pin ledger summary."""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
import warnings
from pathlib import Path
from typing import Any

from ._page import vmstat
from ._pin import pin_ledger

__all__ = ["add_run_parser", "run_scenarios", "find_scenarios"]


def find_scenarios(paths: list[Path]) -> list[Path]:
    """Every ``*.py`` under *paths* that defines ``scenario()``, skipping the
    misuse gallery (it is for the type checkers)."""
    files: list[Path] = []
    for path in paths:
        candidates = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        files += [f for f in candidates if "misuse" not in f.parts and "def scenario(" in f.read_text()]
    return files


def _load(path: Path) -> Any:
    name = f"pinapi_example_{'_'.join(path.with_suffix('').parts[-3:])}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def run_scenarios(files: list[Path]) -> tuple[int, list[str]]:
    """Run each file's ``scenario()`` with warnings as errors; returns how
    many ran and the failures."""
    failures: list[str] = []
    for f in files:
        before = vmstat.snapshot()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                _load(f).scenario()
        except Exception as e:  # a scenario failing is a finding, not a crash
            failures.append(f"{f}: {type(e).__name__}: {e}")
            continue
        after = vmstat.snapshot()
        acquired = after["nr_foll_pin_acquired"] - before["nr_foll_pin_acquired"]
        released = after["nr_foll_pin_released"] - before["nr_foll_pin_released"]
        if acquired != released:
            failures.append(f"{f}: pins acquired {acquired} != released {released}")
    return len(files), failures


def _cmd_run(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    files = find_scenarios([Path(p) for p in args.paths])
    ran, failures = run_scenarios(files)
    stat = vmstat.snapshot()
    live = pin_ledger()
    for line in failures:
        print(f"FAIL {line}")
    print(
        f"scenarios: {ran} run, {len(failures)} failed in {time.perf_counter() - t0:.2f}s\n"
        f"pin ledger: acquired {stat['nr_foll_pin_acquired']} released "
        f"{stat['nr_foll_pin_released']} live {sum(r.live for r in live)} "
        f"(records {len(live)})"
    )
    return 1 if failures or live else 0


def add_run_parser(sub: Any) -> None:
    p = sub.add_parser("run", help="run example scenarios and print the pin ledger")
    p.add_argument("paths", nargs="*", default=["examples"])
    p.set_defaults(func=_cmd_run)
