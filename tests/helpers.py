"""Helpers the tests share (fixtures are in conftest.py)."""

from __future__ import annotations

from typing import Any

from pinapi import MM, PAGE_SIZE, Folio
from pinapi import lowlevel
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
