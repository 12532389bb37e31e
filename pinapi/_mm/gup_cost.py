"""Kernel cost counters: what linux 6.12 does for the GUP work the model does.

``pinapi bench`` times Python; these count what the kernel would do, so a
comparison of the pinning APIs holds in C terms whatever Python costs. While
``count_gup_cost()`` is on, the engine (``_mm/gup.py``) and the API
(``_pin``, ``_bvec``, ``_legacy``) add to one ``GupCost`` where they do the
work, a batch's size at a time; off, the default, a batch pays one test of
``counting.active``, never a test per page. The counters:

``atomics``
    Folio count updates, as ``vmstat.nr_refcount_ops`` defines one: one
    update of one folio's counts (``_refcount``, with ``_pincount`` for a
    large folio's pin) for a grab or a release: ``try_grab_folio()``,
    ``try_grab_folio_fast()``, ``gup_put_folio()``, ``folio_put()``. The
    releases that unwind a failing call count too (vmstat backs them out;
    the kernel still makes them). The zero page is never counted: the model
    never grabs it (``try_grab_folio()`` skips it for FOLL_PIN, but does add
    a FOLL_GET reference).
``entries``, ``bytes``
    Array entries a get writes and a put reads, and their bytes in the
    kernel's layout: a ``struct page *`` (8 bytes) per base page handed out
    (``__get_user_pages()``: ``pages[i + j] = nth_page(page, j)``; GUP-fast's
    ``record_subpages()``), a ``struct bio_vec`` (16 bytes: ``bv_page``,
    ``bv_len``, ``bv_offset``, include/linux/bvec.h) per bvec segment; on
    release every pages[] entry ``unpin_user_pages()`` walks
    (``gup_folio_next()``), each handle, each segment ``put_user_bvec()``
    walks, each page ``release_pages()`` is handed. A caller's own loop over
    pages[] (gup_test's ``put_page(pages[i])``) counts where it runs.
``folios``, ``pages``
    Distinct folios whose counts or flags the path reads or writes, and
    distinct struct pages it reads through a ``struct page *``, by pfn (a
    folio's own fields count under ``folios`` only). A get through a PTE
    touches every base page (``follow_page_pte()``: ``vm_normal_page()``,
    ``page_folio()``; ``gup_fast_pte_range()``: ``try_grab_folio_fast()``);
    through a huge leaf only the head page: ``follow_huge_pmd()`` and
    ``gup_fast_pmd_leaf()`` read ``pmd_page()``, and the pages[] entries are
    ``nth_page()`` arithmetic, never dereferenced. ``unpin_user_pages()``
    touches every page (``gup_folio_next()`` reads ``page_folio(list[i])`` for
    each i), as do ``get_page()``, ``put_page()`` and ``release_pages()`` per
    page; ``put_user_bvec()`` touches each segment's ``bv_page``.
``ptes``
    Leaf page-table entries read: one PTE per base page looked up, one PMD
    per PMD-mapped folio (the PUD of a 1 GiB hugetlb page), on the slow path
    and GUP-fast alike. The entry a walk stops at with nothing taken (to
    fault, or where GUP-fast gives up) counts once, and again when the walk
    resumes there; an empty PMD counts as that entry. ``follow_page()``
    reads one, under its page-table lock unless the PMD is empty.
``locks``
    Lock acquisitions: mmap_lock once per slow-path walk
    (``__get_user_pages_locked()``'s ``mmap_read_lock_killable()``, again for
    each retry of ``__gup_longterm_locked()``); on the slow path the
    page-table lock per lookup, ``pte_offset_map_lock()`` per base page
    (``follow_page_pte()``) and ``pmd_lock()`` per huge leaf
    (``follow_pmd_mask()``; ``pud_lock()`` in ``follow_pud_mask()``); none on
    GUP-fast (``gup_fast()`` disables interrupts instead); ``folio_lock()``
    per folio ``unpin_user_pages_dirty_lock()``, ``put_user_bvec(make_dirty)``
    or ``set_page_dirty_lock()`` dirties.

Where the model's walk differs from mm/gup.c, these count what the model does:

- a PTE-mapped large folio's run is one update; ``follow_page_pte()`` and
  ``gup_fast_pte_range()`` make one per page;
- a PMD-mapped folio on the slow path is one update; the kernel makes two
  (``follow_huge_pmd()``'s ``try_grab_folio(folio, 1)``, then
  ``__get_user_pages()``'s ``page_increm - 1``); GUP-fast's one matches;
- GUP-fast tests a FOLL_LONGTERM folio before grabbing it; the kernel grabs,
  tests (``gup_fast_folio_allowed()``) and puts back;
- FOLL_LONGTERM's ``check_and_migrate_movable_pages()`` reads every pages[]
  entry again (``pofs_next_folio()``); the model checks its folio runs,
  which is not counted;
- faults and migrations are not counted; the walk's lookups around them are.

A call refused before the walk (flags, range, a dead MM) counts nothing; a
walk that stops partway counts what it did, and the releases that undo it.
"""

from __future__ import annotations

import errno
from collections.abc import Generator, Iterable
from contextlib import AbstractContextManager, contextmanager
from typing import Final

from .errors import err
from .page_alloc import Folio, Page
from .validate import entry_point, kernel_lock

__all__ = ["PAGE_POINTER_BYTES", "BIO_VEC_BYTES", "COUNTERS", "GupCost", "counting", "count_gup_cost"]

#: ``sizeof(struct page *)`` on 64-bit: one pages[] entry.
PAGE_POINTER_BYTES: Final = 8
#: ``sizeof(struct bio_vec)`` on 64-bit: a pointer and two unsigned ints.
BIO_VEC_BYTES: Final = 16
#: The counters, in the order tables show them.
COUNTERS: Final = ("atomics", "entries", "bytes", "folios", "pages", "ptes", "locks")


class GupCost:
    """The totals of one ``count_gup_cost()`` block (see the module's
    docstring for what each counts). ``folios`` and ``pages`` are distinct
    pfns; the rest are sums."""

    __slots__ = ("atomics", "entries", "bytes", "ptes", "locks", "_folios", "_pages")

    def __init__(self) -> None:
        self.atomics = 0
        self.entries = 0
        self.bytes = 0
        self.ptes = 0
        self.locks = 0
        self._folios: set[int] = set()
        self._pages: set[int] = set()

    @property
    def folios(self) -> int:
        return len(self._folios)

    @property
    def pages(self) -> int:
        return len(self._pages)

    def array(self, entries: int, entry_bytes: int) -> None:
        """*entries* array entries of *entry_bytes* each written or read."""
        self.entries += entries
        self.bytes += entries * entry_bytes

    def touch_folios(self, folios: Iterable[Folio]) -> None:
        """The path read or wrote these folios' counts or flags."""
        self._folios.update([folio.pfn for folio in folios])

    def touch_pages(self, pages: Iterable[Page]) -> None:
        """The path read these struct pages."""
        self._pages.update([page.folio.pfn + page.index for page in pages])

    def touch_pfns(self, pfns: Iterable[int]) -> None:
        """The path read the struct pages of these pfns (a huge leaf's head,
        a segment's ``bv_page``)."""
        self._pages.update(pfns)

    def as_dict(self) -> dict[str, int]:
        """Every counter by name, in ``COUNTERS`` order."""
        return {name: getattr(self, name) for name in COUNTERS}

    def __repr__(self) -> str:
        return "<GupCost " + " ".join(f"{k}={v}" for k, v in self.as_dict().items()) + ">"


class _Counting:
    """Where the counting call sites look: the ``GupCost`` being added to, or
    None (the default: counting off)."""

    __slots__ = ("active",)

    def __init__(self) -> None:
        self.active: GupCost | None = None


counting: Final = _Counting()


@entry_point
def count_gup_cost() -> AbstractContextManager[GupCost]:
    """Context manager: count what the kernel would do for every GUP call and
    release made meanwhile (in any thread), into the ``GupCost`` it yields;
    its totals stay readable after the block. One block at a time: another
    inside it is EBUSY."""
    return _counting_block()


@contextmanager
def _counting_block() -> Generator[GupCost]:
    with kernel_lock:
        if counting.active is not None:
            raise err(errno.EBUSY, "count_gup_cost() is already counting: one block at a time")
        cost = counting.active = GupCost()
    try:
        yield cost
    finally:
        with kernel_lock:
            counting.active = None
