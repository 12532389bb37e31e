from __future__ import annotations

import gc
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

import pinapi
from pinapi import lowlevel
from pinapi import MM, VaddrPin


# CI replays the same examples every run, so a landing never hangs on a seed;
# local runs draw new ones and keep exploring.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI") == "true":
    settings.load_profile("ci")


@pytest.fixture(scope="session")
def dist(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The sdist and the wheel built from it (``python -m build``), once per run."""
    out = tmp_path_factory.mktemp("dist")
    root = Path(__file__).resolve().parent.parent
    r = subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(root)],
                       capture_output=True, text=True, timeout=600)  # fmt: skip
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    (sdist,) = out.glob("pinapi-*.tar.gz")
    (wheel,) = out.glob("pinapi-*.whl")
    return sdist, wheel


@pytest.fixture(autouse=True)
def no_leaked_pins() -> Iterator[None]:
    """Every test runs with the debug pin counter on and must end with no
    live pin: acquired == released and an empty ledger."""
    lowlevel.set_debug_pins(True)
    yield
    gc.collect()
    stat = lowlevel.vmstat.snapshot()
    assert lowlevel.pin_ledger() == []
    assert stat["nr_foll_pin_acquired"] == stat["nr_foll_pin_released"]
    lowlevel.set_debug_pins(False)


@pytest.fixture
def mm() -> Iterator[MM]:
    m = MM("test")
    with pinapi.kthread_use_mm(m):
        yield m
    m.exit()


@pytest.fixture
def owner(mm: MM) -> VaddrPin:
    return VaddrPin(mm=mm)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--fuzz-steps", type=int, default=0,
                     help="run the random walk of test_fuzz.py for this many steps (the long mode)")  # fmt: skip
    parser.addoption("--fuzz-seed", type=int, default=1, help="the long mode's seed")
