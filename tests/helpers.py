"""Helpers the tests share (fixtures are in conftest.py)."""

from __future__ import annotations

import os
import struct
from functools import lru_cache
from typing import Any

import pytest

from pinapi import MM, PAGE_SIZE, PMD_SIZE
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


@lru_cache(maxsize=4096)
def pattern(page: int, tag: int = 0) -> bytes:
    """Position-dependent data for one page: every 8-byte word holds *tag*,
    the page index and its own offset, so any two pages, any two offsets and
    any two tags differ."""
    base = (tag & 0xFFFF) << 48 | (page & 0xFFFFFFFF) << 16
    return struct.pack(f"<{PAGE_SIZE // 8}Q", *range(base, base + PAGE_SIZE, 8))


def fill(mm: MM, addr: int, pages: int | list[int], tag: int = 0) -> None:
    """Write ``pattern(i, tag)`` to page *i* of the region at *addr*, for
    every page (an int: the first *pages*) or the listed ones."""
    for i in range(pages) if isinstance(pages, int) else pages:
        mm.write(addr + i * PAGE_SIZE, pattern(i, tag))


def expect(mm: MM, addr: int, pages: int | list[int], tag: int = 0) -> list[int]:
    """The pages of the region at *addr* (as ``fill`` names them) that do
    not read back as ``pattern(i, tag)``: [] when all do."""
    return [i for i in (range(pages) if isinstance(pages, int) else pages)
            if mm.read(addr + i * PAGE_SIZE, PAGE_SIZE) != pattern(i, tag)]  # fmt: skip


def sample(size: int) -> list[int]:
    """The pages of a region a test writes and checks: all of them up to
    2 MiB; of a 1 GiB one both ends, around 2 MiB boundaries, the middle."""
    n = size // PAGE_SIZE
    if n <= PMD_SIZE // PAGE_SIZE:
        return list(range(n))
    return sorted({0, 1, 2, 511, 512, 513, n // 2 - 1, n // 2, n - 513, n - 512, n - 2, n - 1})
