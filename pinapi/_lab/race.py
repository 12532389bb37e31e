"""The race of LWN 774411, replayable: DMA into a shared ext4 page while
writeback and reclaim run.

A *schedule* is a list of ``(op, page)`` steps on a three-page shared mapping
of an ``Ext4`` file: ``acquire`` takes a reference the way the mode says (at
most two at once per page), ``dma`` has the device write through the newest
one, ``user`` has the process store through its mapping, ``release`` drops
the oldest, ``writeback`` and ``reclaim`` run on the file. After the schedule,
everything still held is released, the filesystem synced and the cache
dropped; the run *fails* if that ends in the filesystem's BUG or if the disk
does not hold every byte written, in order.

Modes:

- ``gup``: ``get_user_pages()`` references, ``set_page_dirty_lock()`` and
  ``put_page()`` on release (the 2019 code; also what FOLL_LONGTERM-only
  tracking leaves a short-term Direct IO caller with);
- ``gup-dirty-on-get``: plain references, dirtied by the write fault at get
  time only (seed 002's proposal without pin tracking);
- ``pin``: ``vaddr_pin_pages()`` and ``unpin_user_pages_dirty_lock(make_dirty=True)``;
- ``pin-dirty-on-get``: pins, released without dirtying.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Iterator
from typing import Any, Final, Literal

from .._mm.errors import KernelBug, KernelError
from .._mm.fs import Ext4, File, FsWarning, Inode
from .._mm.gup import FOLL
from .._legacy import get_user_pages_remote, put_page, set_page_dirty_lock
from .._mm.mmap import MAP_SHARED, MM
from .._mm.page_alloc import PAGE_SIZE
from .._pin import VaddrPin, folios_mark_dirty_lock, unpin_user_pages, unpin_user_pages_dirty_lock, vaddr_pin_pages
from .._mm.page_writeback import sync_filesystem, writeback
from .._mm.vmscan import reclaim

__all__ = [
    "OPS", "NPAGES", "MODES", "Mode", "Schedule", "run_schedule", "fails", "all_schedules", "on_disk",
    "DIRTY_READ_PIN_RELEASES", "dirty_read_pin",
]  # fmt: skip

OPS: Final = ("acquire", "dma", "user", "release", "writeback", "reclaim")
NPAGES: Final = 3
MAX_HELD: Final = 2  # overlapping pins (or references) of one page
Mode = Literal["gup", "gup-dirty-on-get", "pin", "pin-dirty-on-get"]
MODES: Final[tuple[Mode, ...]] = ("gup", "gup-dirty-on-get", "pin", "pin-dirty-on-get")
Schedule = list[tuple[str, int]]


def on_disk(fs: Ext4, inode: Inode, npages: int = NPAGES) -> bytes:
    """What the disk holds for the first *npages* pages of *inode*."""
    return b"".join(fs.disk.get((inode.ino, i), bytes(PAGE_SIZE)) for i in range(npages))


def run_schedule(schedule: Schedule, mode: Mode, fs: Ext4) -> tuple[bytes, bytes]:
    """Play *schedule*; returns (every byte written, in order; what the disk
    holds at the end). Raises the filesystem's ``KernelBug``."""
    pinned = mode.startswith("pin")
    dirty_on_put = not mode.endswith("dirty-on-get")
    mm = MM("io")
    f = File(Inode(fs, NPAGES * PAGE_SIZE), "data")
    a = mm.mmap(NPAGES * PAGE_SIZE, flags=MAP_SHARED, file=f)
    expected = bytearray(NPAGES * PAGE_SIZE)
    held: dict[int, list[Any]] = {i: [] for i in range(NPAGES)}

    def release(i: int) -> None:
        h = held[i].pop(0)
        if pinned:
            unpin_user_pages_dirty_lock(h, make_dirty=dirty_on_put)
        else:
            if dirty_on_put:
                set_page_dirty_lock(h)
            put_page(h)

    try:
        for step, (op, i) in enumerate(schedule):
            off = i * PAGE_SIZE + step * 8 % PAGE_SIZE
            data = b"%08d" % step
            if op == "acquire" and len(held[i]) < MAX_HELD:
                if pinned:
                    held[i].append(vaddr_pin_pages(a + i * PAGE_SIZE, 1, FOLL.WRITE, VaddrPin(mm=mm)))
                else:
                    held[i] += get_user_pages_remote(mm, a + i * PAGE_SIZE, 1, FOLL.WRITE)
            elif op == "dma" and held[i]:
                if pinned:
                    held[i][-1][0].write(off % PAGE_SIZE, data)
                else:
                    held[i][-1].folio.write(off % PAGE_SIZE, data)  # the case-5 bug
                expected[off : off + 8] = data
            elif op == "user":
                mm.write(a + off, data)
                expected[off : off + 8] = data
            elif op == "release" and held[i]:
                release(i)
            elif op == "writeback":
                writeback(f.inode)
            elif op == "reclaim":
                reclaim(f.inode)
        for i in held:
            while held[i]:
                release(i)
        sync_filesystem(fs)
        mm.munmap(a, NPAGES * PAGE_SIZE)
        reclaim(f.inode)
        return bytes(expected), on_disk(fs, f.inode)
    finally:
        for hs in held.values():  # a failed run must not leak into the next
            for h in hs:
                if pinned:
                    unpin_user_pages(h)
                else:
                    put_page(h)
        mm.exit()
        fs.inodes.remove(f.inode)


def fails(schedule: Schedule, mode: Mode, fs: Ext4) -> str | None:
    """``"BUG"`` or ``"lost data"`` if *schedule* fails in *mode*, else None."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FsWarning)
            expected, disk = run_schedule(schedule, mode, fs)
    except KernelBug:
        return "BUG"
    return "lost data" if expected != disk else None


def all_schedules(length: int, pages: int = 1) -> Iterator[Schedule]:
    """Every schedule of exactly *length* steps on the first *pages* pages."""
    steps = [(op, i) for op in OPS for i in range(pages)]
    for combo in itertools.product(steps, repeat=length):
        yield list(combo)


#: How ``dirty_read_pin()`` releases the pin, and what the row says.
DIRTY_READ_PIN_RELEASES: Final = {
    "kernel": "unpin_user_pages_dirty_lock(make_dirty=true), as the kernel does it",
    "contract": "the same call here (rejected by the type checkers)",
    "dirty-on-get": "dirty on get: released with no make_dirty",
    "write-pin": "control: a FOLL_WRITE pin, released dirty",
}


def dirty_read_pin(fs: Ext4, how: str) -> str:
    """Pin a page of a shared *fs* mapping that the process has only read
    (so no ``page_mkwrite``: no buffers), release it *how*
    (``DIRTY_READ_PIN_RELEASES``), let the process store through its
    mapping, write back and drop the cache: what became of the store."""
    mm = MM("reader")
    f = File(Inode(fs, PAGE_SIZE), "data")
    a = mm.mmap(PAGE_SIZE, flags=MAP_SHARED, file=f)
    refused = ""
    try:
        mm.read(a, 8)  # a read fault: cached, mapped clean, no buffers
        pins = vaddr_pin_pages(a, 1, FOLL.WRITE if how == "write-pin" else 0, VaddrPin(mm=mm))
        if how == "kernel":  # the kernel's unpin_user_pages_dirty_lock(): no permission check
            pinned = mm.lookup(a)  # the page the read pin holds
            assert pinned is not None
            folios_mark_dirty_lock([pinned.folio])
            unpin_user_pages(pins)
        elif how in ("contract", "write-pin"):
            try:
                unpin_user_pages_dirty_lock(pins, make_dirty=True)
            except KernelError as e:
                refused = "EINVAL, pin left live, released clean; "
                assert "make_dirty on a pin taken without FOLL_WRITE" in str(e)
                unpin_user_pages(pins)
        else:
            unpin_user_pages(pins)
        mm.write(a, b"a store")  # a dirty folio is mapped writable: no fault, no page_mkwrite
        with warnings.catch_warnings(record=True) as warned:
            warnings.simplefilter("always", FsWarning)
            try:
                writeback(f.inode)
            except KernelBug:
                return refused + "BUG at writeback: dirty, no buffers"
        mm.munmap(a, PAGE_SIZE)
        reclaim(f.inode)
        if on_disk(fs, f.inode, 1)[:7] != b"a store":
            return refused + f"the store is lost{' (a warning)' if warned else ''}"
        return refused + "the store is on disk"
    finally:
        mm.exit()
        fs.inodes.remove(f.inode)
