"""Files, inodes and the filesystems behind them (the page cache they share
is ``filemap``).

A filesystem decides how a file's folios come to be (``read_folio``), what
happens before a page is written (``page_mkwrite``, also used by ``write(2)``),
how a folio is marked dirty (``dirty_folio``) and where writeback puts it
(``writepage``). Four filesystems:

- ``Shmem`` (tmpfs): memory-backed; the page cache is the file. No writeback.
- ``Hugetlbfs``: like tmpfs, in huge folios; no ``write(2)``.
- ``Ext4``: a block filesystem with dirty tracking. ``page_mkwrite`` attaches
  buffers (``PG.private``) and dirties; writeback copies a folio to the disk
  and cleans it; reclaim strips the buffers of a clean folio. A dirty folio
  without buffers at writeback is ext4's ``BUG_ON(!PagePrivate(page))``.
- ``FsDax``: file pages are the device's memory, mapped directly; no page
  cache copy, nothing to write back.
"""

from __future__ import annotations

import errno
import itertools
import warnings
from typing import Final

from .errors import KernelBug, err
from .filemap import AddressSpace
from .memory import unmap_mapping_range
from .page_alloc import (
    HPAGE_PMD_ORDER, HPAGE_PUD_ORDER, PAGE_SHIFT, PAGE_SIZE, PG, Folio, Zone, alloc_folio, folio_get, folio_put, kernel_lock,
)  # fmt: skip
from .pin_tracking import tracking
from .validate import Unique, entry_point

__all__ = [
    "FileSystem", "Inode", "File", "Shmem", "Hugetlbfs", "Ext4", "FsDax",
    "FsWarning", "F_LAYOUT", "F_UNLCK", "MAX_LFS_FILESIZE", "shmem_file",
]  # fmt: skip

#: ``fcntl(F_SETLEASE)`` arguments: an exclusive layout lease (Ira Weiny's
#: RFC) and its release.
F_LAYOUT: Final = 16
F_UNLCK: Final = 2

_ino: Final = itertools.count(1)
#: The largest file the page cache can index (``MAX_LFS_FILESIZE`` on 64-bit).
MAX_LFS_FILESIZE: Final = (1 << 63) - 1


class FsWarning(RuntimeWarning):
    """A filesystem's WARN()/ext4_warning()."""


class FileSystem(Unique):
    """Base filesystem: memory-backed pages, nothing to write back (tmpfs)."""

    name = "tmpfs"
    #: Dirty pages are written back to a backing store, and writes through
    #: shared mappings are tracked per page (``page_mkwrite``).
    dirty_tracking = False
    #: File pages are device memory (fsdax): no page cache to migrate or bounce.
    dax = False
    #: Order of the file's folios (hugetlbfs: its huge page size).
    folio_order = 0
    #: ``write(2)`` is supported (hugetlbfs has no ``write_iter``).
    can_write = True

    @entry_point
    def __init__(self) -> None:
        self.inodes: list[Inode] = []

    def read_folio(self, inode: Inode, index: int) -> Folio:
        """A new folio for page *index* holding the file's data (zeroes here)."""
        return alloc_folio(self.folio_order)

    def page_mkwrite(self, inode: Inode, folio: Folio) -> None:
        """About to write *folio* (a write fault on a shared mapping, or
        ``write(2)``): make it ready and dirty."""
        folio.flags |= PG.dirty

    def dirty_folio(self, inode: Inode, folio: Folio) -> None:
        """``a_ops->dirty_folio``: mark a cached folio dirty."""
        folio.flags |= PG.dirty

    def writepage(self, inode: Inode, folio: Folio, data: bytes) -> None:
        """Write *data*, a copy of dirty *folio*, to the backing store."""
        raise KernelBug(f"{self.name} has no backing store to write {folio!r} to")

    def punch_blocks(self, inode: Inode, first: int, last: int) -> None:
        """Free the backing blocks of pages ``[first, last)``."""


class Shmem(FileSystem):
    name = "tmpfs"


class Hugetlbfs(FileSystem):
    """hugetlbfs: files of huge folios (2 MiB or 1 GiB), mapped by PMDs."""

    name = "hugetlbfs"
    can_write = False

    @entry_point
    def __init__(self, order: int = HPAGE_PMD_ORDER) -> None:
        if order not in (HPAGE_PMD_ORDER, HPAGE_PUD_ORDER):
            raise err(errno.EINVAL, f"no hugetlb page size of order {order}: 2 MiB or 1 GiB")
        super().__init__()
        self.folio_order = order

    def read_folio(self, inode: Inode, index: int) -> Folio:
        folio = alloc_folio(self.folio_order)
        folio.flags |= PG.hugetlb
        return folio


class Ext4(FileSystem):
    """A block filesystem in the ext4 mould. ``disk`` maps (inode number,
    page index) to the bytes writeback last wrote there. Buffers are attached
    only by ``page_mkwrite`` (and ``write(2)``); ``dirty_folio``, which
    ``set_page_dirty()`` reaches, sets the dirty flag and attaches none.

    *bug_on_no_buffers* chooses what writeback does with a dirty page that
    has no buffers: True is ``BUG_ON(!PagePrivate(page))`` (``page_buffers()``
    in ext4's writeback, the 2018 report); False is what ext4 does since
    2022: warn, clear the dirty bit and skip the page, losing its data."""

    name = "ext4"
    dirty_tracking = True

    @entry_point
    def __init__(self, bug_on_no_buffers: bool = True) -> None:
        super().__init__()
        self.bug_on_no_buffers = bug_on_no_buffers
        self.disk: dict[tuple[int, int], bytes] = {}

    def read_folio(self, inode: Inode, index: int) -> Folio:
        folio = alloc_folio(0)
        block = self.disk.get((inode.ino, index))
        if block is not None:
            folio.write(0, block)
        return folio

    def page_mkwrite(self, inode: Inode, folio: Folio) -> None:
        """``block_page_mkwrite()``: attach buffers, then dirty the folio."""
        folio.flags |= PG.private | PG.dirty

    def writepage(self, inode: Inode, folio: Folio, data: bytes) -> None:
        if not folio.flags & PG.private:
            if self.bug_on_no_buffers:
                raise KernelBug(f"ext4 writeback: BUG_ON(!PagePrivate(page)): page {folio.index} of "
                                f"inode {inode.ino} was dirty with no buffers (dirtied without "
                                f"page_mkwrite) {folio!r}")  # fmt: skip
            warnings.warn(f"ext4: page {folio.index} of inode {inode.ino} does not have buffers "
                          "attached; its data is not written", FsWarning, stacklevel=3)  # fmt: skip
            return
        self.disk[(inode.ino, folio.index)] = data

    def punch_blocks(self, inode: Inode, first: int, last: int) -> None:
        for key in [k for k in self.disk if k[0] == inode.ino and first <= k[1] < last]:
            del self.disk[key]


class FsDax(FileSystem):
    """fsdax: each file page is a page of persistent memory, mapped directly
    into user space. Its cache entry is the storage itself."""

    name = "fsdax"
    dax = True

    def read_folio(self, inode: Inode, index: int) -> Folio:
        return alloc_folio(0, Zone.NORMAL)  # device memory never moves


def _check_size(fs: FileSystem, size: int) -> None:
    """A size a file of *fs* may have: EINVAL if negative or not a multiple
    of a hugetlbfs page, EFBIG past MAX_LFS_FILESIZE."""
    if size < 0:
        raise err(errno.EINVAL, "negative file size")
    if size > MAX_LFS_FILESIZE:
        raise err(errno.EFBIG, "file size past MAX_LFS_FILESIZE")
    if fs.folio_order and size % (PAGE_SIZE << fs.folio_order):
        raise err(errno.EINVAL, f"{fs.name} sizes are multiples of the huge page size")


class Inode(Unique):
    """A file: its size, page cache and number. An unlinked inode
    (``nlink == 0``: shmem, memfd, the object behind shared anonymous memory)
    is evicted, its page cache dropped, once no open file and no mapping
    holds it."""

    @entry_point
    def __init__(self, fs: FileSystem, size: int = 0, nlink: int = 1) -> None:
        _check_size(fs, size)
        if not 0 <= nlink < 1 << 32:
            raise err(errno.EINVAL, f"nlink {nlink} is not a 32-bit link count")
        self.fs = fs
        self.size = size
        self.nlink = nlink
        self.open_files = 0
        self.ino = next(_ino)
        self.mapping = AddressSpace(self)
        fs.inodes.append(self)

    @entry_point
    def iput(self) -> None:
        """Evict the inode if it is unlinked and nothing holds it any more:
        ``truncate_inode_pages()``. A pinned folio leaves the cache and lives
        until it is unpinned."""
        if self.nlink or self.open_files or self.mapping.i_mmap:
            return
        for folio in list(self.mapping.pages.values()):
            self.mapping.delete_folio(folio)
        self.fs.inodes.remove(self)

    def __repr__(self) -> str:
        return f"<Inode {self.ino} on {self.fs.name} size={self.size}>"

    def _folios(self, pos: int, end: int) -> list[tuple[Folio, int, int]]:
        """(folio, offset in folio, length) covering bytes ``[pos, end)``."""
        out: list[tuple[Folio, int, int]] = []
        while pos < end:
            folio = self.mapping.get_folio(pos >> PAGE_SHIFT)
            off = pos - (folio.index << PAGE_SHIFT)
            n = min(end - pos, folio.size - off)
            out.append((folio, off, n))
            pos += n
        return out

    @entry_point
    def read(self, pos: int, length: int) -> bytes:
        """``read(2)`` through the page cache; stops at end of file."""
        if pos < 0 or length < 0:
            raise err(errno.EINVAL, "negative file position or length")
        with kernel_lock:
            return b"".join(f.read(off, n) for f, off, n in self._folios(pos, min(pos + length, self.size)))

    @entry_point
    def write(self, pos: int, data: bytes) -> None:
        """``write(2)`` through the page cache; extends the file."""
        if pos < 0:
            raise err(errno.EINVAL, "negative file position")
        if pos + len(data) > MAX_LFS_FILESIZE:
            raise err(errno.EFBIG, "write past the largest file size")
        if not self.fs.can_write:
            raise err(errno.EINVAL, f"{self.fs.name} has no write(2): write through a mapping")
        with kernel_lock:
            done = 0
            for folio, off, n in self._folios(pos, pos + len(data)):
                folio_get(folio)
                try:
                    self.fs.page_mkwrite(self, folio)
                    folio.write(off, data[done : done + n])
                finally:
                    folio_put(folio)
                done += n
            self.size = max(self.size, pos + len(data))

    @entry_point
    def truncate(self, size: int) -> None:
        """``ftruncate(2)``: shrink (dropping pages, mappings and private
        copies past the end, zeroing the rest of the last folio) or grow."""
        _check_size(self.fs, size)
        with kernel_lock:
            folio_bytes = PAGE_SIZE << self.fs.folio_order
            cached = [(f.index << PAGE_SHIFT) + f.size for f in self.mapping.pages.values()]
            end = -(-max([self.size, *cached]) // folio_bytes) * folio_bytes
            if size < end:
                self._remove_range(size, end, True)
            self.size = size

    @entry_point
    def punch_hole(self, offset: int, length: int) -> None:
        """``fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)``: the range
        reads as zeroes afterwards; whole folios are dropped, partial ones
        zeroed; private copies are left alone."""
        if offset < 0 or length <= 0:
            raise err(errno.EINVAL, "hole punch needs offset >= 0 and length > 0")
        if offset + length > MAX_LFS_FILESIZE:
            raise err(errno.EFBIG, "hole punch past the largest file size")
        with kernel_lock:
            end = min(offset + length, self.size)
            if offset < end:
                self._remove_range(offset, end, False)

    def _remove_range(self, start: int, end: int, even_cows: bool) -> None:
        """Make bytes ``[start, end)`` zeroes: folios wholly inside are
        unmapped, dropped and their blocks freed; partial ones are zeroed.
        On fsdax, ETXTBSY with nothing changed while a page there is pinned."""
        cache = self.mapping
        folio_bytes = PAGE_SIZE << self.fs.folio_order
        if self.fs.dax:
            for folio in cache.pages.values():
                fstart = folio.index << PAGE_SHIFT
                if fstart < end and fstart + folio.size > start and tracking.strategy.maybe_dma_pinned(folio):
                    raise err(errno.ETXTBSY, f"{self!r}: page {folio.index} is pinned "
                                             "(a DAX layout cannot change under a live pin)")  # fmt: skip
        first = -(-start // folio_bytes) * folio_bytes >> PAGE_SHIFT
        last = end // folio_bytes * folio_bytes >> PAGE_SHIFT
        for index in (start >> PAGE_SHIFT, (end - 1) >> PAGE_SHIFT):
            if not first <= index < last:
                cache.get_folio(index)  # partial: read it in to zero part of it
        if first < last:
            unmap_mapping_range(cache, first, last, even_cows)
        for folio in sorted(cache.pages.values(), key=lambda f: f.index):
            fstart = folio.index << PAGE_SHIFT
            fend = fstart + folio.size
            if fend <= start or fstart >= end:
                continue
            if start <= fstart and fend <= end:
                cache.delete_folio(folio)
                continue
            self.fs.page_mkwrite(self, folio)
            lo = max(start, fstart)
            folio.write(lo - fstart, bytes(min(end, fend) - lo))
        if first < last:
            self.fs.punch_blocks(self, first, last)


class File(Unique):
    """An open file: what ``mmap`` and ``VaddrPin`` name as the owner. A pin
    keeps the ``File`` (and so its owner's name) after ``close()``."""

    @entry_point
    def __init__(self, inode: Inode, name: str = "") -> None:
        self.inode = inode
        self.name = name
        self.closed = False
        self.layout_lease = False
        inode.open_files += 1

    def __repr__(self) -> str:
        closed = " closed" if self.closed else ""
        return f"<File {self.name or hex(id(self))} on {self.inode.fs.name}{closed}>"

    @entry_point
    def setlease(self, arg: int) -> None:
        """``fcntl(F_SETLEASE)``: F_LAYOUT takes an exclusive layout lease,
        which FOLL_LONGTERM on fsdax requires; F_UNLCK drops it."""
        if arg not in (F_LAYOUT, F_UNLCK):
            raise err(errno.EINVAL, "F_SETLEASE takes F_LAYOUT or F_UNLCK")
        if self.closed:
            raise err(errno.EBADF, f"{self!r} is closed")
        self.layout_lease = arg == F_LAYOUT

    @entry_point
    def close(self) -> None:
        """``close(2)``: the descriptor and its lease go; mappings and pins
        taken through it stay."""
        with kernel_lock:
            if self.closed:
                return
            self.closed = True
            self.layout_lease = False
            self.inode.open_files -= 1
            self.inode.iput()


@entry_point
def shmem_file(size: int, name: str = "shmem") -> File:
    """``shmem_file_setup()``: an unlinked tmpfs file of *size* bytes, freed
    when it is closed and unmapped."""
    return File(Inode(Shmem(), size, nlink=0), name)
