"""``get_user_bvec()`` / ``put_user_bvec()``: pins as ``struct bio_vec`` segments.

``get_user_bvec()`` pins a byte range through the same engine, owner rule,
errors and ledger as ``vaddr_pin_pages()``, but hands back a ``PinnedBvec``:
one ``BvecSegment`` per physically contiguous run of pages within a folio, so
a 2 MiB THP or a 1 GiB hugetlb page is one segment, pinned and released with
one atomic count update however many base pages it covers (vmstat still counts
base pages). The first segment may start mid-page and the last end mid-page.

A segment is not a ``Page``: it carries what a driver needs for a scatterlist
or a copy (``pfn``, ``offset``, ``length``, ``read``, ``write``) and nothing
``put_page()`` accepts. ``put_user_bvec()`` releases the whole bvec, exactly
once.
"""

from __future__ import annotations

import errno
from typing import Generic, cast, final

from ._handle import HandleSequence, NoPublicConstructor
from ._mm.debug import debug
from ._mm.errors import err
from ._mm.gup import FolioRuns, put_folios
from ._mm.gup_cost import BIO_VEC_BYTES, counting
from ._mm.page_alloc import PAGE_SHIFT, PAGE_SIZE, Folio, kernel_lock
from ._mm.validate import entry_point, span
from ._pin import (
    W, Permission, PinRecord, VaddrPin, Write, folios_mark_dirty_lock, ledger, pin_user_range,
    require_dirty_allowed, require_write_pin,
)  # fmt: skip

__all__ = ["BvecSegment", "PinnedBvec", "get_user_bvec", "put_user_bvec"]


@final
class BvecSegment(Generic[W], metaclass=NoPublicConstructor):
    """One ``struct bio_vec`` of a ``PinnedBvec``: ``length`` bytes from byte
    ``offset`` of the page at ``pfn``, physically contiguous within one folio.
    Never a ``Page``: it is released only with its bvec."""

    __slots__ = ("_bvec", "_i")

    _bvec: PinnedBvec[Permission]
    _i: int

    _factory = "segments come from get_user_bvec()"
    _kind = "a segment of a PinnedBvec, which only put_user_bvec() releases, whole"

    def __init__(self, bvec: PinnedBvec[Permission], i: int) -> None:
        self._bvec = bvec
        self._i = i

    def __eq__(self, other: object) -> bool:
        return type(other) is BvecSegment and other._bvec is self._bvec and other._i == self._i

    def __hash__(self) -> int:
        return hash((id(self._bvec), self._i))

    def __repr__(self) -> str:
        folio, start, length = self._bvec._segment(self._i)
        state = "pinned" if self._bvec._pinned else "released"
        return f"<BvecSegment pfn={folio.pfn + (start >> PAGE_SHIFT):#x} offset={start % PAGE_SIZE} len={length} {state}>"

    def _live(self) -> tuple[Folio, int, int]:
        if not self._bvec._pinned:
            raise err(errno.EINVAL, "use of a BvecSegment after put_user_bvec()")
        return self._bvec._segment(self._i)

    @property
    def pinned(self) -> bool:
        return self._bvec._pinned

    @property
    def pfn(self) -> int:
        """``page_to_pfn(bv_page)``: the segment's first page frame."""
        folio, start, _ = self._live()
        return folio.pfn + (start >> PAGE_SHIFT)

    @property
    def offset(self) -> int:
        """``bv_offset``: where the data starts in the first page."""
        return self._live()[1] % PAGE_SIZE

    @property
    def length(self) -> int:
        """``bv_len``: bytes in the segment, possibly spanning many pages."""
        return self._live()[2]

    def _span(self, offset: int, length: int) -> tuple[Folio, int]:
        folio, start, seg_len = self._live()
        span(offset, length, seg_len, "the segment")
        return folio, start + offset

    @entry_point
    def read(self, offset: int = 0, length: int | None = None) -> bytes:
        """The device (or CPU) reads the segment's data: *length* bytes from
        *offset* within it (default: to its end)."""
        with kernel_lock:
            if length is None:
                length = self._live()[2] - offset
            folio, pos = self._span(offset, length)
            return folio.read(pos, length)

    @entry_point
    def write(self, offset: int, data: bytes) -> None:
        """The device (or CPU) writes *data* at *offset* within the segment.
        Only a bvec pinned with FOLL_WRITE may be written: a read pin may be
        of the shared zero page, or of a page still shared copy-on-write."""
        with kernel_lock:
            folio, pos = self._span(offset, len(data))
            require_write_pin(self._bvec._record.flags)
            folio.write(pos, data)

    @entry_point
    def for_write(self) -> BvecSegment[Write]:
        """This segment, typed for writing: EPERM unless its bvec was taken
        with FOLL_WRITE."""
        self._live()
        require_write_pin(self._bvec._record.flags)
        return cast("BvecSegment[Write]", self)


@final
class PinnedBvec(HandleSequence[BvecSegment[W]], metaclass=NoPublicConstructor):
    """What one ``get_user_bvec()`` call pinned: its segments in address
    order. Released with ``put_user_bvec()``, all at once; as a context
    manager it releases on exit (without dirtying) if still pinned."""

    __slots__ = ("_runs", "_offset", "_length", "_record", "_pinned")

    _runs: FolioRuns
    _offset: int  # of the range in its first page
    _length: int
    _record: PinRecord
    _pinned: bool

    _factory = "bvecs come from get_user_bvec()"
    _kind = "the pins of one get_user_bvec() call, which only put_user_bvec() releases"

    def __init__(self, runs: FolioRuns, offset: int, length: int, record: PinRecord) -> None:
        self._runs = runs
        self._offset = offset
        self._length = length
        self._record = record
        self._pinned = True

    def _segment(self, i: int) -> tuple[Folio, int, int]:
        """Segment *i*: its folio, its first byte in the folio, its length."""
        runs = self._runs
        start = runs.first[i] << PAGE_SHIFT
        length = runs.nr[i] << PAGE_SHIFT
        if i == 0:
            start += self._offset
            length -= self._offset
        if i == len(runs) - 1:
            length -= (self._record.nr_pages << PAGE_SHIFT) - self._offset - self._length
        return runs.folios[i], start, length

    def __len__(self) -> int:
        return len(self._runs)

    def _handle(self, i: int) -> BvecSegment[W]:
        return cast("BvecSegment[W]", BvecSegment._create(self, i))

    @property
    def _nr_held(self) -> int:
        return self._record.nr_pages if self._pinned else 0

    def _release(self) -> None:
        put_user_bvec(self, False)

    def __repr__(self) -> str:
        state = "pinned" if self._pinned else "released"
        return f"<PinnedBvec {len(self._runs)} segments, {self._length} bytes {state}, {self._record!r}>"

    @property
    def pinned(self) -> bool:
        return self._pinned

    @property
    def length(self) -> int:
        """Bytes pinned: the *length* given to ``get_user_bvec()``."""
        return self._length

    @property
    def nr_pages(self) -> int:
        """Base pages the range touches."""
        return self._record.nr_pages

    @property
    def owner(self) -> VaddrPin:
        return self._record.owner

    @entry_point
    def for_write(self) -> PinnedBvec[Write]:
        """This bvec, typed for writing: EPERM unless taken with FOLL_WRITE."""
        require_write_pin(self._record.flags)
        return cast("PinnedBvec[Write]", self)


@entry_point
def get_user_bvec(addr: int, length: int, gup_flags: int, vaddr_pin: VaddrPin) -> PinnedBvec[Permission]:
    """Pin the *length* bytes at *addr* for *vaddr_pin*, all or nothing, as
    bio_vec segments: one per physically contiguous run within a folio, one
    atomic update each. Flags, owner rule and errors are
    ``vaddr_pin_pages()``'s; *addr* need not be page-aligned."""
    if length <= 0:
        raise err(errno.EINVAL, f"length must be positive, got {length}")
    offset = addr % PAGE_SIZE
    nr_pages = (offset + length + PAGE_SIZE - 1) >> PAGE_SHIFT
    with kernel_lock:
        record = pin_user_range(vaddr_pin, addr - offset, nr_pages, gup_flags, None)
        cost = counting.active
        if cost is not None:
            cost.array(len(record.runs), BIO_VEC_BYTES)  # a bio_vec written per segment
        return PinnedBvec._create(record.runs, offset, length, record)


@entry_point
def put_user_bvec(bvec: PinnedBvec[Permission], make_dirty: bool) -> None:
    """Release every pin of *bvec* at once, one atomic update per folio run.
    With *make_dirty*, first lock, dirty and unlock each folio not already
    dirty, as ``unpin_user_pages_dirty_lock()`` does (EINVAL, nothing
    released, for a bvec taken without FOLL_WRITE). Exactly once."""
    if type(bvec) is not PinnedBvec:
        raise TypeError(f"put_user_bvec() expects a PinnedBvec, got {type(bvec).__name__}: "
                        "pins from vaddr_pin_pages() are released with unpin_user_pages()")  # fmt: skip
    with kernel_lock:
        if not bvec._pinned:
            raise err(errno.EINVAL, f"{bvec!r} was already released: a pin releases exactly once")
        runs, record = bvec._runs, bvec._record
        if make_dirty:
            require_dirty_allowed(record.flags)
            folios_mark_dirty_lock({id(folio): folio for folio in runs.folios}.values())
        if debug.enabled:
            debug.account_folios(runs.folios, runs.nr, -1)
        cost = counting.active
        if cost is not None:  # each bio_vec read, and page_folio() of its bv_page
            cost.array(len(runs), BIO_VEC_BYTES)
            cost.touch_pfns([folio.pfn + first for folio, first in zip(runs.folios, runs.first)])
        put_folios(runs.folios, runs.nr, record.flags)
        bvec._pinned = False
        ledger.released(record, record.live)
