"""The page cache: ``struct address_space``, a file's cached folios and the
VMAs that map it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .page_alloc import PG, Folio, folio_put
from .validate import Unique

if TYPE_CHECKING:  # declared here, defined above: the filesystems and the VMAs
    from .fs import Inode
    from .mm_types import VMA

__all__ = ["AddressSpace"]


class AddressSpace(Unique):
    """``struct address_space``: a file's page cache and the VMAs mapping it.
    Folios are keyed by their first page index (huge folios: aligned)."""

    def __init__(self, host: Inode) -> None:
        self.host = host
        self.pages: dict[int, Folio] = {}  # index -> folio; the cache holds one ref
        self.i_mmap: set[VMA] = set()

    def _align(self, index: int) -> int:
        return index & ~((1 << self.host.fs.folio_order) - 1)

    def find_folio(self, index: int) -> Folio | None:
        """The cached folio holding page *index*, or None."""
        return self.pages.get(self._align(index))

    def get_folio(self, index: int) -> Folio:
        """``filemap_get_folio(FGP_CREAT)``: the cached folio holding page
        *index*, read in if absent. The caller gets no extra reference."""
        index = self._align(index)
        folio = self.pages.get(index)
        if folio is None:
            folio = self.host.fs.read_folio(self.host, index)
            folio.mapping = self
            folio.index = index
            self.pages[index] = folio
        return folio

    def delete_folio(self, folio: Folio) -> None:
        """Remove *folio* from the cache, dropping the cache's reference. A
        folio someone else still holds lives on, in no file."""
        del self.pages[folio.index]
        folio.mapping = None
        folio.flags &= ~PG.private
        folio_put(folio)
