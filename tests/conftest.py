from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import settings

import pinapi
from pinapi import MM, VaddrPin
from pinapi._lab.c_contract import missing_tools


# CI replays the same examples every run, so a landing never hangs on a seed;
# local runs draw new ones and keep exploring.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI") == "true":
    settings.load_profile("ci")


def require_c_tools() -> None:
    """Fail under CI, skip elsewhere, when gcc, sparse or spatch is missing."""
    missing = missing_tools()
    if missing:
        reason = f"needs {', '.join(missing)} (apt-get install -y sparse coccinelle gcc)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)


def state(*mms: MM) -> dict[str, Any]:
    """Everything a failed call must leave as it found: vmstat, the ledger,
    and the counts and flags of every folio the MMs map."""
    folios: dict[int, tuple[int, int, int, int]] = {}
    for mm in mms:
        for _, page in mm.mapped_pages():
            f = page.folio
            folios[f.pfn] = (f.refcount(), f.pincount(), f.mapcount(), f.flags)
    return {
        "vmstat": pinapi.vmstat.snapshot(),
        "ledger": [(r.seq, r.live) for r in pinapi.pin_ledger()],
        "folios": folios,
        "vmas": [[(v.vm_start, v.vm_end, int(v.vm_flags)) for v in mm.vmas] for mm in mms],
    }


@pytest.fixture(autouse=True)
def no_leaked_pins() -> Iterator[None]:
    """Every test runs with the debug pin counter on and must end with no
    live pin: acquired == released and an empty ledger."""
    pinapi.set_debug_pins(True)
    yield
    gc.collect()
    stat = pinapi.vmstat.snapshot()
    assert pinapi.pin_ledger() == []
    assert stat["nr_foll_pin_acquired"] == stat["nr_foll_pin_released"]
    pinapi.set_debug_pins(False)


@pytest.fixture
def mm() -> Iterator[MM]:
    m = MM("test")
    with pinapi.kthread_use_mm(m):
        yield m
    m.exit()


@pytest.fixture
def owner(mm: MM) -> VaddrPin:
    return VaddrPin(mm=mm)
