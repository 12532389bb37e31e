"""The pin API: ``vaddr_pin_pages()`` and its opaque handles.

A pin is taken by ``vaddr_pin_pages()`` on behalf of a ``VaddrPin`` owner and
comes back as a ``PinnedPages`` batch of ``PinnedPage`` handles. A handle is not
a ``Page``: only the unpin functions release it, exactly once, and it refuses
use after release. Every live pin is in the ledger with its owner, range,
flags and call site.

Partial results: ``vaddr_pin_pages()`` is all or nothing. If any page of the
range cannot be pinned it unpins what it took and raises; a caller never owns
a short result. ``pin_user_pages_fast()`` follows the kernel instead: what
GUP-fast took stays pinned when the slow path then fails, a short result the
caller unpins; it raises only when it pinned nothing.
"""

from __future__ import annotations

import errno
import itertools
import sys
from collections.abc import Iterable, Sequence
from types import CodeType
from typing import Final, Generic, TypeVar, cast, final

from ._handle import HandleSequence, NoPublicConstructor
from ._mm.debug import debug
from ._mm.errors import err
from ._mm.filemap import AddressSpace
from ._mm.fs import File
from ._mm.gup import FOLL, FolioRuns, get_user_pages_locked, gup_fast_fallback, gup_put_pages, put_folios
from ._mm.gup_cost import PAGE_POINTER_BYTES, counting
from ._mm.mmap import MM
from ._mm.page_alloc import PG, Folio, Page, kernel_lock, page_read, page_write
from ._mm.kthread import current_mm
from ._mm.pin_tracking import tracking
from ._mm.validate import Unique, entry_point

__all__ = [
    "Permission",
    "Read",
    "MaybeWrite",
    "Write",
    "VaddrPin",
    "PinnedPage",
    "PinnedPages",
    "AnyPin",
    "PinRecord",
    "vaddr_pin_pages",
    "pin_user_pages_fast",
    "unpin_user_page",
    "unpin_user_pages",
    "unpin_user_pages_dirty_lock",
    "vaddr_unpin_pages_dirty_lock",
    "page_maybe_dma_pinned",
    "folio_maybe_dma_pinned",
    "pin_ledger",
    "ledger",
    "require_dirty_allowed",
    "folio_mark_dirty",
    "folios_mark_dirty_lock",
    "pin_user_range",
    "call_site",
]


class Permission:
    """What a pin may do with the page's data: the type argument of every pin
    handle. The markers are types only; at run time a pin's permission is
    its record's FOLL_WRITE."""


@final
class Read(Permission):
    """Pinned without FOLL_WRITE: the data may be read; released clean."""


class MaybeWrite(Permission):
    """Flags the checker cannot see: released with any ``make_dirty`` (checked
    at run time); written after ``for_write()``."""


@final
class Write(MaybeWrite):
    """Pinned with FOLL_WRITE: the data may be written, the release may dirty it."""


W = TypeVar("W", bound=Permission, covariant=True)


@final
class VaddrPin:
    """``struct vaddr_pin``: who holds a pin, an MM and/or a file."""

    __slots__ = ("mm", "file")

    @entry_point
    def __init__(self, mm: MM | None = None, file: File | None = None) -> None:
        self.mm = mm
        self.file = file

    def __repr__(self) -> str:
        return f"VaddrPin(mm={self.mm!r}, file={self.file!r})"


def call_site() -> tuple[CodeType, int]:
    """The first frame outside pinapi: where a pin is being taken."""
    f = sys._getframe(2)
    while f.f_back is not None and f.f_globals.get("__name__", "").startswith("pinapi."):
        f = f.f_back
    return f.f_code, f.f_lineno


_seq: Final = itertools.count(1)


@final
class PinRecord(Unique):
    """A ledger entry: the live pins of one pinning call."""

    __slots__ = ("seq", "owner", "mm", "start", "nr_pages", "flags", "_site", "live", "pages", "runs")

    def __init__(self, owner: VaddrPin, mm: MM, start: int, pages: list[Page], runs: FolioRuns,
                 flags: FOLL, site: tuple[CodeType, int]) -> None:  # fmt: skip
        self.seq = next(_seq)
        self.pages = pages  # shared with the handle; outlives it if it leaks
        self.runs = runs  # the folio runs as grabbed: released in one go while all are live
        self.owner = owner
        self.mm = mm
        self.start = start
        self.nr_pages = sum(runs.nr)
        self.flags = flags
        self._site = site
        self.live = self.nr_pages

    @property
    def site(self) -> str:
        """``file:line (function)`` of the pinning call."""
        code, line = self._site
        return f"{code.co_filename}:{line} ({code.co_name})"

    @property
    def orphaned(self) -> bool:
        """The pinning process has exited; the holder still owns the pins."""
        return self.mm.dead

    def __repr__(self) -> str:
        return (
            f"<PinRecord #{self.seq} {self.owner!r} {self.start:#x}+{self.nr_pages}p"
            f" live={self.live} {self.flags!r}{' orphaned' if self.orphaned else ''} at {self.site}>"
        )


class _Ledger:
    """Live pin records by sequence number. It holds records, never handles,
    so a handle dropped while pinned is collected and reported."""

    def __init__(self) -> None:
        self.records: dict[int, PinRecord] = {}

    def add(self, record: PinRecord) -> None:
        self.records[record.seq] = record

    def released(self, record: PinRecord, nr_pages: int) -> None:
        """*nr_pages* of *record*'s pins were released; it leaves the ledger
        with its last."""
        record.live -= nr_pages
        if not record.live:
            del self.records[record.seq]

    def describe(self, folio: Folio) -> str:
        for record in self.records.values():
            if folio in record.runs.folios:
                return record.site
        return "an unknown site"


ledger: Final = _Ledger()
debug.describe_pin = ledger.describe


@entry_point
def pin_ledger() -> list[PinRecord]:
    """Every pinning call with pins still live, oldest first."""
    with kernel_lock:
        return sorted(ledger.records.values(), key=lambda r: r.seq)


def require_write_pin(flags: int) -> None:
    """Writing a pinned page's data needs a pin taken with FOLL_WRITE: a read
    pin may hold the shared zero page or a page still shared copy-on-write."""
    if not flags & FOLL.WRITE:
        raise err(errno.EPERM, "write through a pin taken without FOLL_WRITE: "
                               "pin with FOLL_WRITE for the device to write")  # fmt: skip


def require_dirty_allowed(flags: int) -> None:
    """Only a pin taken with FOLL_WRITE may be released dirty: a read pin's
    page was never made writable (no ``page_mkwrite``, so on ext4 no
    buffers), and dirtying it is the writeback BUG of a bare reference."""
    if not flags & FOLL.WRITE:
        raise err(errno.EINVAL, "make_dirty on a pin taken without FOLL_WRITE: a read pin is released "
                                "clean (make_dirty=False); pin with FOLL_WRITE if the device writes")  # fmt: skip


@final
class PinnedPage(Generic[W], metaclass=NoPublicConstructor):
    """One pinned base page. Release with ``unpin_user_page(s)``; never a ``Page``."""

    __slots__ = ("_batch", "_i")

    _batch: PinnedPages[Permission]
    _i: int

    _factory = "pins come from vaddr_pin_pages()"
    _kind = "a pin taken by vaddr_pin_pages(), which only unpin_user_page(s) release"

    def __init__(self, batch: PinnedPages[Permission], i: int) -> None:
        self._batch = batch
        self._i = i

    def __eq__(self, other: object) -> bool:
        return type(other) is PinnedPage and other._batch is self._batch and other._i == self._i

    def __hash__(self) -> int:
        return hash((id(self._batch), self._i))

    def __repr__(self) -> str:
        state = "pinned" if self._batch._live[self._i] else "released"
        return f"<PinnedPage {self._batch._pages[self._i]!r} {state}>"

    def _page(self, write: bool = False) -> Page:
        """The pinned page; EINVAL once unpinned, EPERM to write a read pin."""
        if not self._batch._live[self._i]:
            raise err(errno.EINVAL, "use of a PinnedPage after it was unpinned")
        if write:
            require_write_pin(self._batch._record.flags)
        return self._batch._pages[self._i]

    @property
    def pinned(self) -> bool:
        return bool(self._batch._live[self._i])

    @entry_point
    def read(self, offset: int = 0, length: int = 4096) -> bytes:
        """The device (or CPU) reads the pinned page's data."""
        with kernel_lock:
            return page_read(self._page(), offset, length)

    @entry_point
    def write(self, offset: int, data: bytes) -> None:
        """The device (or CPU) writes the pinned page's data; only through a
        pin taken with FOLL_WRITE."""
        with kernel_lock:
            page_write(self._page(write=True), offset, data)

    @entry_point
    def for_write(self) -> PinnedPage[Write]:
        """This pin, typed for writing: EPERM unless taken with FOLL_WRITE."""
        with kernel_lock:
            self._page(write=True)
        return cast("PinnedPage[Write]", self)


#: A pin of any permission: what the release calls and the data reads take.
AnyPin = PinnedPage[Permission]


@final
class PinnedPages(HandleSequence[PinnedPage[W]], metaclass=NoPublicConstructor):
    """The pages pinned by one ``vaddr_pin_pages()`` call, in address order.
    As a context manager it unpins whatever is still pinned on exit."""

    __slots__ = ("_pages", "_live", "_nr_live", "_record", "__weakref__")

    _pages: list[Page]
    _live: bytearray
    _nr_live: int
    _record: PinRecord

    _factory = "pins come from vaddr_pin_pages()"
    _kind = "the pins of one vaddr_pin_pages() call, which only unpin_user_pages() releases"

    def __init__(self, pages: list[Page], record: PinRecord) -> None:
        self._pages = pages
        self._live = bytearray(b"\x01") * len(pages)
        self._nr_live = len(pages)
        self._record = record

    def __len__(self) -> int:
        return len(self._pages)

    def _handle(self, i: int) -> PinnedPage[W]:
        return cast("PinnedPage[W]", PinnedPage._create(self, i))

    @property
    def _nr_held(self) -> int:
        return self._nr_live

    def _release(self) -> None:
        unpin_user_pages([p for p in self if p.pinned])

    def __repr__(self) -> str:
        return f"<PinnedPages {len(self._pages)} pages, {self._nr_live} pinned, {self._record!r}>"

    @property
    def nr_pinned(self) -> int:
        return self._nr_live

    @property
    def owner(self) -> VaddrPin:
        return self._record.owner

    @entry_point
    def for_write(self) -> PinnedPages[Write]:
        """These pins, typed for writing: EPERM unless taken with FOLL_WRITE."""
        require_write_pin(self._record.flags)
        return cast("PinnedPages[Write]", self)


def pin_user_range(vaddr_pin: VaddrPin, start: int, nr_pages: int, gup_flags: int,
                   pages: list[Page] | None, fast: bool = False) -> PinRecord:  # fmt: skip
    """What every pinning entry point does: pin *nr_pages* pages from *start*
    for *vaddr_pin*, all or nothing, count them for the debug counter, and
    enter them in the ledger. The MM walked is ``vaddr_pin.mm``, else the
    current one. With *pages* the record holds the ``Page`` list the engine
    fills (none without it). *fast*: GUP-fast first, and a short result is
    kept. Call with ``kernel_lock`` held."""
    if vaddr_pin.mm is None and vaddr_pin.file is None:
        raise err(errno.EINVAL, "vaddr_pin names no owner: give an mm, a file, or both")
    mm = vaddr_pin.mm or current_mm()
    gup = gup_fast_fallback if fast else get_user_pages_locked
    runs, error, flags = gup(mm, start, nr_pages, gup_flags, FOLL.PIN, pages)
    if error is not None and not (fast and runs):
        put_folios(runs.folios, runs.nr, flags, unwind=True)
        raise error
    if debug.enabled:
        debug.account_folios(runs.folios, runs.nr, 1)
    record = PinRecord(vaddr_pin, mm, start, [] if pages is None else pages, runs, flags, call_site())
    ledger.add(record)
    return record


@entry_point
def vaddr_pin_pages(addr: int, nr_pages: int, gup_flags: int, vaddr_pin: VaddrPin) -> PinnedPages[Permission]:
    """Pin *nr_pages* user pages from *addr* for *vaddr_pin*: all or nothing.
    The MM walked is ``vaddr_pin.mm``, else the current one. The pins are
    write pins if *gup_flags* has FOLL_WRITE, read pins otherwise."""
    with kernel_lock:
        pages: list[Page] = []
        return PinnedPages._create(pages, pin_user_range(vaddr_pin, addr, nr_pages, gup_flags, pages))


@entry_point
def pin_user_pages_fast(start: int, nr_pages: int, gup_flags: int) -> PinnedPages[Permission]:
    """``pin_user_pages_fast()``: pin up to *nr_pages* pages of the current
    MM from *start*, GUP-fast first (no mmap lock, never faults), the slow
    path for the rest. A short result is the caller's to unpin; raises only
    when nothing was pinned. The owner is the current MM."""
    with kernel_lock:
        pages: list[Page] = []
        owner = VaddrPin(mm=current_mm())
        return PinnedPages._create(pages, pin_user_range(owner, start, nr_pages, gup_flags, pages, fast=True))


def folio_mark_dirty(folio: Folio) -> None:
    """``folio_mark_dirty()``: through the filesystem for page-cache folios."""
    mapping = folio.mapping
    if isinstance(mapping, AddressSpace):
        mapping.host.fs.dirty_folio(mapping.host, folio)
    else:
        folio.flags |= PG.dirty


_PG_LOCKED: Final = int(PG.locked)  # read once: an enum member lookup is slow
_PG_DIRTY_OR_RESERVED: Final = int(PG.dirty | PG.reserved)


def folios_mark_dirty_lock(folios: Iterable[Folio]) -> None:
    """Lock, mark dirty and unlock each folio not already dirty, as
    ``unpin_user_pages_dirty_lock()`` does before it unpins; never the zero
    page."""
    locked = 0
    for folio in folios:
        if not folio.flags & _PG_DIRTY_OR_RESERVED:
            folio.flags |= _PG_LOCKED
            folio_mark_dirty(folio)
            folio.flags &= ~_PG_LOCKED
            locked += 1
    cost = counting.active
    if cost is not None:
        cost.locks += locked  # folio_lock()


def _unpin(handles: Iterable[AnyPin] | PinnedPages[Permission], make_dirty: bool, owner: VaddrPin | None) -> None:
    """Validate every handle, then release them all (nothing on error)."""
    with kernel_lock:
        if type(handles) is PinnedPages and handles._nr_live == len(handles._pages):
            groups: dict[int, tuple[PinnedPages[Permission], Sequence[int]]] = {
                id(handles): (handles, range(len(handles._pages)))
            }
        else:
            idx_of: dict[int, tuple[PinnedPages[Permission], list[int]]] = {}
            for h in handles:
                if not h._batch._live[h._i]:
                    raise err(errno.EINVAL, f"{h!r} was already unpinned: a pin releases exactly once")
                idx_of.setdefault(id(h._batch), (h._batch, []))[1].append(h._i)
            groups = dict(idx_of)
            for batch, idx in groups.values():
                if len(set(idx)) != len(idx):
                    raise err(errno.EINVAL, "the same PinnedPage appears twice: a pin releases exactly once")
        for batch, _ in groups.values():
            if owner is not None and (batch.owner.mm is not owner.mm or batch.owner.file is not owner.file):
                raise err(errno.EINVAL, f"these pins belong to {batch.owner!r}, not {owner!r}")
            if make_dirty:
                require_dirty_allowed(batch._record.flags)
        for batch, idx in groups.values():
            pages = batch._pages if len(idx) == len(batch._pages) else [batch._pages[i] for i in idx]
            if make_dirty:
                folios_mark_dirty_lock({id(p.folio): p.folio for p in pages}.values())
            cost = counting.active
            if cost is not None:  # gup_folio_next(): page_folio() of every pages[] entry
                cost.array(len(idx), PAGE_POINTER_BYTES)
                cost.touch_pages(pages)
            if debug.enabled:
                debug.account(pages, -1)
            live = batch._live
            if len(idx) == len(live):  # the whole batch: release the runs as grabbed
                runs = batch._record.runs
                put_folios(runs.folios, runs.nr, batch._record.flags)
                live[:] = bytes(len(live))
            else:
                gup_put_pages(pages, batch._record.flags)
                for i in idx:
                    live[i] = 0
            batch._nr_live -= len(idx)
            ledger.released(batch._record, len(idx))


@entry_point
def unpin_user_page(page: AnyPin) -> None:
    """Release one pin."""
    _unpin((page,), False, None)


@entry_point
def unpin_user_pages(pages: Iterable[AnyPin] | PinnedPages[Permission]) -> None:
    """Release pins, one atomic update per run of pages in a folio."""
    _unpin(pages, False, None)


@entry_point
def unpin_user_pages_dirty_lock(pages: Iterable[AnyPin] | PinnedPages[Permission], make_dirty: bool) -> None:
    """Release pins; with *make_dirty*, lock, dirty and unlock each folio not
    already dirty first. Dirtying a pin taken without FOLL_WRITE is EINVAL,
    and nothing is released."""
    _unpin(pages, make_dirty, None)


@entry_point
def vaddr_unpin_pages_dirty_lock(pages: Iterable[AnyPin] | PinnedPages[Permission], vaddr_pin: VaddrPin,
                                 make_dirty: bool) -> None:  # fmt: skip
    """``unpin_user_pages_dirty_lock()`` that also checks the pins are
    *vaddr_pin*'s (EINVAL otherwise)."""
    _unpin(pages, make_dirty, vaddr_pin)


@entry_point
def folio_maybe_dma_pinned(folio: Folio) -> bool:
    """Exact for large folios; for small ones 1024 plain references look pinned."""
    return tracking.strategy.maybe_dma_pinned(folio)


@entry_point
def page_maybe_dma_pinned(page: Page | AnyPin) -> bool:
    """``folio_maybe_dma_pinned()`` of the page's folio."""
    p = page._batch._pages[page._i] if type(page) is PinnedPage else page
    return tracking.strategy.maybe_dma_pinned(p.folio)
