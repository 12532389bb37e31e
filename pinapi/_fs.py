"""Files, inodes and the page cache.

A filesystem decides how a file's folios come to be (``read_folio``) and what a
first write through a shared mapping does (``page_mkwrite``). tmpfs/shmem is the
base: memory-backed, no dirty tracking, no writeback.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING

from ._errors import err
from ._page import PG, PAGE_SIZE, Folio, alloc_folio, folio_get, folio_put, kernel_lock

if TYPE_CHECKING:
    from ._mm import VMA

__all__ = ["AddressSpace", "FileSystem", "Inode", "File", "Shmem", "shmem_file"]


class AddressSpace:
    """``struct address_space``: a file's page cache and the VMAs mapping it."""

    def __init__(self, host: Inode) -> None:
        self.host = host
        self.pages: dict[int, Folio] = {}  # index -> folio; the cache holds one ref
        self.i_mmap: set[VMA] = set()

    def find_folio(self, index: int) -> Folio | None:
        return self.pages.get(index)

    def get_folio(self, index: int) -> Folio:
        """``filemap_get_folio(FGP_CREAT)``: the cached folio, read in if absent.
        The caller gets no extra reference: it must take its own."""
        folio = self.pages.get(index)
        if folio is None:
            folio = self.host.fs.read_folio(self.host, index)
            folio.mapping = self
            folio.index = index
            self.pages[index] = folio
        return folio

    def delete_folio(self, folio: Folio) -> None:
        """Remove *folio* from the cache, dropping the cache's reference."""
        del self.pages[folio.index]
        folio.mapping = None
        folio_put(folio)


class FileSystem:
    """Base filesystem: memory-backed pages, nothing to write back (tmpfs)."""

    name = "tmpfs"
    #: Writes through shared mappings are tracked per page (page_mkwrite).
    dirty_tracking = False
    #: File pages are device memory (fsdax): no page cache to migrate or bounce.
    dax = False

    def read_folio(self, inode: Inode, index: int) -> Folio:
        return alloc_folio(0)

    def page_mkwrite(self, inode: Inode, folio: Folio) -> None:
        """A write fault on a shared mapping of *folio*; may attach buffers."""
        folio.flags |= PG.dirty

    def dirty_folio(self, inode: Inode, folio: Folio) -> None:
        """``a_ops->dirty_folio``: mark a cached folio dirty."""
        folio.flags |= PG.dirty


class Shmem(FileSystem):
    name = "tmpfs"


class Inode:
    """A file's size and page cache."""

    def __init__(self, fs: FileSystem, size: int = 0) -> None:
        self.fs = fs
        self.size = size
        self.mapping = AddressSpace(self)

    def read(self, pos: int, length: int) -> bytes:
        """``read(2)`` through the page cache."""
        with kernel_lock:
            end = min(pos + length, self.size)
            out = bytearray()
            while pos < end:
                index, off = divmod(pos, PAGE_SIZE)
                n = min(end - pos, PAGE_SIZE - off)
                out += self.mapping.get_folio(index).read(off, n)
                pos += n
            return bytes(out)

    def write(self, pos: int, data: bytes) -> None:
        """``write(2)`` through the page cache; extends the file."""
        if pos < 0:
            raise err(errno.EINVAL, "negative file position")
        with kernel_lock:
            done = 0
            while done < len(data):
                index, off = divmod(pos + done, PAGE_SIZE)
                n = min(len(data) - done, PAGE_SIZE - off)
                folio = self.mapping.get_folio(index)
                folio_get(folio)
                try:
                    self.fs.page_mkwrite(self, folio)
                    folio.write(off, data[done : done + n])
                finally:
                    folio_put(folio)
                done += n
            self.size = max(self.size, pos + len(data))


class File:
    """An open file: what ``mmap`` and ``VaddrPin`` name as the owner."""

    def __init__(self, inode: Inode, name: str = "") -> None:
        self.inode = inode
        self.name = name

    def __repr__(self) -> str:
        return f"<File {self.name or hex(id(self))} on {self.inode.fs.name}>"


def shmem_file(size: int, name: str = "shmem") -> File:
    """``shmem_file_setup()``: an unlinked tmpfs file of *size* bytes."""
    return File(Inode(Shmem(), size), name)
