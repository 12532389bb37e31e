"""Helpers the tests share (fixtures are in conftest.py)."""

from __future__ import annotations

import os
from typing import Any

import pytest

from pinapi import MM
from pinapi import lowlevel
from pinapi._lab.c_contract import missing_tools


def state(*mms: MM) -> dict[str, Any]:
    """Everything a failed call must leave as it found: vmstat, the ledger,
    and the counts and flags of every folio the MMs map."""
    folios: dict[int, tuple[int, int, int, int]] = {}
    for mm in mms:
        for _, page in mm.mapped_pages():
            f = page.folio
            folios[f.pfn] = (f.refcount(), f.pincount(), f.mapcount(), f.flags)
    return {
        "vmstat": lowlevel.vmstat.snapshot(),
        "ledger": [(r.seq, r.live) for r in lowlevel.pin_ledger()],
        "folios": folios,
        "vmas": [[(v.vm_start, v.vm_end, int(v.vm_flags)) for v in mm.vmas] for mm in mms],
    }


def require_c_tools() -> None:
    """Fail under CI, skip elsewhere, when gcc, sparse or spatch is missing."""
    missing = missing_tools()
    if missing:
        reason = f"needs {', '.join(missing)} (apt-get install -y sparse coccinelle gcc)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
