"""Helpers the tests share (fixtures are in conftest.py)."""

from __future__ import annotations

from typing import Any

from pinapi import MM
from pinapi import lowlevel


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
