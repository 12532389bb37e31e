"""Helpers the tests share (fixtures are in conftest.py)."""

from __future__ import annotations

import os
import struct
from functools import lru_cache
from typing import Any

import pytest

from pinapi import MM, PAGE_SIZE, PMD_SIZE, Folio
from pinapi import lowlevel
from pinapi._lab.c_contract import missing_tools
from pinapi._mm.filemap import AddressSpace
from pinapi.lowlevel import PG, ZERO_FOLIO, Ext4, Inode


def _pages_with_data(folio: Folio) -> dict[int, bytes]:
    """The base pages of *folio* that do not read as zeroes, by index (a
    folio's data is allocated per written page: only those are read)."""
    written = folio._data.keys() if isinstance(folio._data, dict) else range(folio.nr_pages)
    pages = {i: folio.read(i * PAGE_SIZE, PAGE_SIZE) for i in written}
    return {i: data for i, data in pages.items() if any(data)}


def state(*mms: MM) -> dict[str, Any]:
    """What a refused call leaves exactly as it found (docs/design.md, "The
    refused-call contract"): the live-pin balance, the ledger, the pins and
    the references each folio holds beyond its mappings and the page cache,
    the VMAs, and the bytes every process reads and every file it maps holds.
    Which pages are faulted in, and which folio holds them, may differ."""
    held: dict[int, tuple[int, int]] = {}
    data: dict[tuple[int, int], bytes] = {}
    inodes: dict[int, Inode] = {}

    def hold(folio: Folio) -> None:
        if folio is ZERO_FOLIO:
            return
        extra = folio.refcount() - folio.mapcount() - isinstance(folio.mapping, AddressSpace)
        if extra or folio.pincount():
            held[folio.pfn] = (extra, folio.pincount())

    for n, mm in enumerate(mms):
        for addr, entry in mm.pgtable.entries():
            folio = entry if isinstance(entry, Folio) else entry.folio
            hold(folio)
            if not folio.test(PG.anon):
                continue
            if isinstance(entry, Folio):
                data.update({(n, addr + i * PAGE_SIZE): page for i, page in _pages_with_data(folio).items()})
            elif any(page := folio.read(entry.index * PAGE_SIZE, PAGE_SIZE)):
                data[(n, addr)] = page
        for vma in mm.vmas:
            if vma.vm_file is not None:
                inodes[vma.vm_file.inode.ino] = vma.vm_file.inode
    for record in lowlevel.pin_ledger():
        for folio in record.runs.folios:
            hold(folio)
    files: dict[int, dict[int, bytes]] = {}
    for ino, inode in inodes.items():
        fs = inode.fs
        content = {i: b for (i_ino, i), b in fs.disk.items() if i_ino == ino} if isinstance(fs, Ext4) else {}
        for index, folio in inode.mapping.pages.items():
            hold(folio)
            for i in range(folio.nr_pages):
                content.pop(index + i, None)  # the cache is newer than the disk
            content.update({index + i: page for i, page in _pages_with_data(folio).items()})
        files[ino] = content
    stat = lowlevel.vmstat.snapshot()
    return {
        "live pins": stat["nr_foll_pin_acquired"] - stat["nr_foll_pin_released"],
        "ledger": [(r.seq, r.live) for r in lowlevel.pin_ledger()],
        "held": held,
        "vmas": [[(v.vm_start, v.vm_end, int(v.vm_flags)) for v in mm.vmas] for mm in mms],
        "bytes": data,
        "files": files,
    }


def exact_state(*mms: MM) -> dict[str, Any]:
    """Everything: ``state()``, every vmstat counter, and the counts and flags
    of every folio the MMs map. A call refused at the public boundary, before
    its body runs, leaves all of it as it found it."""
    folios: dict[int, tuple[int, int, int, int]] = {}
    for mm in mms:
        for _, page in mm.mapped_pages():
            f = page.folio
            folios[f.pfn] = (f.refcount(), f.pincount(), f.mapcount(), f.flags)
    return {**state(*mms), "vmstat": lowlevel.vmstat.snapshot(), "folios": folios}


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
