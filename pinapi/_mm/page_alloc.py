"""Physical memory: folios, pages, zones, the page allocator and vmstat.

A folio is the unit that owns the counts (``_refcount``, ``_pincount``,
``_mapcount``) and the flags; a ``Page`` is a view of one 4 KiB base page of a
folio. Data is allocated lazily per base page: a page never written reads as
zeroes and costs nothing.
"""

from __future__ import annotations

import enum
import errno
from collections.abc import Callable, Generator
from contextlib import AbstractContextManager, contextmanager
from typing import Final, TypeVar, final

from .errors import KernelBug, err
from .validate import Unique, entry_point, kernel_lock, span

__all__ = [
    "PAGE_SHIFT",
    "PAGE_SIZE",
    "HPAGE_PMD_ORDER",
    "HPAGE_PUD_ORDER",
    "PMD_SIZE",
    "PUD_SIZE",
    "GUP_PIN_COUNTING_BIAS",
    "int_bit_operators",
    "REFCOUNT_MAX",
    "Zone",
    "ZONES_PGSHIFT",
    "ZONES_MASK",
    "PG",
    "Folio",
    "FolioTail",
    "Page",
    "page_read",
    "page_write",
    "page_flags",
    "page_anon_exclusive",
    "set_page_anon_exclusive",
    "ZERO_FOLIO",
    "VmStat",
    "vmstat",
    "alloc_folio",
    "alloc_zone",
    "split_off",
    "folio_get",
    "folio_put",
    "folio_put_check",
    "folios_ref_try_add",
    "folios_put_refs",
    "kernel_lock",
    "model_setting",
]

PAGE_SHIFT: Final = 12
PAGE_SIZE: Final = 1 << PAGE_SHIFT
HPAGE_PMD_ORDER: Final = 9  # 2 MiB transparent huge page / hugetlb page
HPAGE_PUD_ORDER: Final = 18  # 1 GiB hugetlb page
PMD_SIZE: Final = PAGE_SIZE << HPAGE_PMD_ORDER
PUD_SIZE: Final = PAGE_SIZE << HPAGE_PUD_ORDER
GUP_PIN_COUNTING_BIAS: Final = 1 << 10
#: _refcount is a 32-bit atomic_t: ``Folio._refcount`` holds it unsigned, so
#: a count past INT_MAX reads negative in ``refcount()``.
REFCOUNT_MAX: Final = (1 << 31) - 1


class Zone(enum.Enum):
    """Where a folio lives. Long-term pins must not stay in MOVABLE or CMA."""

    NORMAL = "Normal"
    MOVABLE = "Movable"
    CMA = "CMA"


#: The zone's number sits in a folio's flags above every PG bit, as
#: ``page_zonenum()`` reads it from page->flags. ZONE_NORMAL is zone 0, so
#: ``flags & ZONES_MASK`` is nonzero exactly for a folio outside it.
ZONES_PGSHIFT: Final = 24
ZONES_MASK: Final = 0xFF << ZONES_PGSHIFT
_ZONES: Final = tuple(Zone)
_ZONE_NUMBER: Final = {zone: i for i, zone in enumerate(_ZONES)}


_F = TypeVar("_F", bound=enum.IntFlag)
_V = TypeVar("_V")


def int_bit_operators(cls: type[_F]) -> type[_F]:
    """Class decorator for the model's flag sets (``PG``, ``VM``, ``FOLL``):
    int's own bit operators, so results are plain ints at run time. Enum's
    build a member per result, ten times slower, and GUP tests these flags per
    call and per page. (Enum gives every Flag class its own operators, so a
    base class cannot do this.)"""
    for name in ("__and__", "__rand__", "__or__", "__ror__", "__xor__", "__rxor__", "__invert__"):
        setattr(cls, name, getattr(int, name))
    return cls


@int_bit_operators
class PG(enum.IntFlag):
    """Folio flags that matter to pinning. ``anon`` stands for the
    PAGE_MAPPING_ANON bit of ``->mapping``; ``private`` means buffers are
    attached; ``dma_pinned`` is the page-flag tracking strategy's bit.
    ``anon_exclusive`` is PageAnonExclusive(), a flag of each page: in
    ``flags`` for a small folio and for the head page of a folio mapped by a
    PMD, in ``FolioTail.anon_exclusive`` for the pages of a large folio mapped
    by PTEs (``page_flags`` reads either)."""

    locked = 1 << 0
    dirty = 1 << 1
    writeback = 1 << 2
    private = 1 << 3
    anon = 1 << 4
    anon_exclusive = 1 << 5
    reserved = 1 << 6
    hugetlb = 1 << 7
    dma_pinned = 1 << 8


class VmStat:
    """The /proc/vmstat counters the model keeps (``nr_refcount_ops`` is the
    model's own: one per update of a folio's counts for a grab or a release,
    ``_refcount`` and ``_pincount`` of one folio counting once)."""

    __slots__ = (
        "nr_foll_pin_acquired",
        "nr_foll_pin_released",
        "nr_refcount_ops",
        "nr_folios_allocated",
        "nr_folios_freed",
        "pgfault",
        "thp_fault_alloc",
        "cow_fault",
        "pgmigrate_success",
        "pswpin",
        "pswpout",
    )

    nr_foll_pin_acquired: int
    nr_foll_pin_released: int
    nr_refcount_ops: int
    nr_folios_allocated: int
    nr_folios_freed: int
    pgfault: int
    thp_fault_alloc: int
    cow_fault: int
    pgmigrate_success: int
    pswpin: int
    pswpout: int

    @entry_point
    def __init__(self) -> None:
        for name in self.__slots__:
            setattr(self, name, 0)

    @entry_point
    def snapshot(self) -> dict[str, int]:
        """A copy of every counter, for diffing before and after."""
        with kernel_lock:
            return {name: getattr(self, name) for name in self.__slots__}


vmstat: Final = VmStat()


@final
class FolioTail(Unique):
    """What only a large folio has, kept in its tail pages' flags in the
    kernel: each page's PageAnonExclusive() while PTEs map it (bit i: page
    i). A small folio has no tail: it costs no bytes."""

    __slots__ = ("anon_exclusive",)

    anon_exclusive: int

    def __init__(self) -> None:
        self.anon_exclusive = 0


@final
class Folio(Unique):
    """A physically contiguous, naturally aligned run of ``1 << order`` pages."""

    __slots__ = (
        "_refcount",  # the fields GUP reads and writes per folio, first and together
        "flags",
        "order",
        "_pincount",
        "_mapcount",
        "tail",
        "pfn",
        "mapping",
        "index",
        "_data",
    )  # no __weakref__: nothing holds folios weakly, and a folio costs bytes per touched page

    _refcount: int
    flags: int  # PG bits, and the zone above them (ZONES_PGSHIFT), as page->flags holds it
    order: int
    _pincount: int  # a large folio's pins (struct folio's, in its first tail page); 0 for a small one
    _mapcount: int
    tail: FolioTail | None  # exactly when order > 0
    pfn: int
    mapping: object | None  # an AddressSpace for page-cache folios
    index: int  # offset in the file, in pages
    _data: bytearray | dict[int, bytearray] | None

    def __init__(self, order: int, zone: Zone, pfn: int) -> None:
        self._refcount = 1
        self.flags = _ZONE_NUMBER[zone] << ZONES_PGSHIFT
        self.order = order
        self._pincount = 0
        self._mapcount = 0
        self.tail = FolioTail() if order else None
        self.pfn = pfn
        self.mapping = None
        self.index = 0
        self._data = None

    @property
    def zone(self) -> Zone:
        """``folio_zone()``: read from the flags."""
        return _ZONES[self.flags >> ZONES_PGSHIFT]

    def __repr__(self) -> str:
        return (
            f"<Folio pfn={self.pfn:#x} order={self.order} ref={self._refcount}"
            f" pin={self.pincount()} map={self._mapcount} {PG(self.flags & ~ZONES_MASK)!r}>"
        )

    @property
    def nr_pages(self) -> int:
        return 1 << self.order

    @property
    def size(self) -> int:
        return PAGE_SIZE << self.order

    def refcount(self) -> int:
        """``folio_ref_count()``: signed, negative past INT_MAX."""
        count = self._refcount
        return count - (1 << 32) if count > REFCOUNT_MAX else count

    def pincount(self) -> int:
        """``_pincount`` of a large folio (always 0 for an order-0 folio)."""
        return self._pincount

    def mapcount(self) -> int:
        """How many page-table entries map this folio."""
        return self._mapcount

    # Count updates: the page_ref.h helpers, the only writers of the counts
    # (with folios_ref_try_add() and folios_put_refs(), their batches).
    def get(self, refs: int = 1) -> None:
        """``folio_get()``: *refs* more references on a folio the caller holds;
        its BUG on a count that is zero or close to wrapping to it
        (``folio_ref_zero_or_close_to_overflow()``)."""
        count = self._refcount
        if count == 0 or count + refs + 127 >= 1 << 32:
            raise KernelBug(f"reference taken on a freed folio, or _refcount about to wrap to 0: {self!r}")
        self._refcount = count + refs

    def move_mapping_to(self, new: Folio) -> None:
        """Split: one page-table entry, with the reference it holds, now maps
        a page of *new* instead of this folio; the caller drops that
        reference here."""
        new._refcount += 1
        new._mapcount += 1
        self._mapcount -= 1

    def split_off(self, index: int) -> Folio:
        """The small folio page *index* of this large anonymous folio becomes
        when it is split: the same pfn, zone and flags (its own
        PageAnonExclusive()), mapping and index, its bytes moved; no reference
        yet."""
        small = Folio(0, self.zone, self.pfn + index)
        small._refcount = 0
        small.flags = page_flags(Page(self, index))
        small.mapping = self.mapping
        small.index = self.index + index
        small._data = self._subpage(index, False)
        vmstat.nr_folios_allocated += 1
        return small

    def put(self, refs: int = 1) -> None:
        """``folio_put()``: drop *refs* references; the folio is freed when
        ``_refcount`` hits 0. The zero page is never counted."""
        if self.flags & _PG_RESERVED:
            return
        new = self._refcount = self.put_check(refs)
        if new == 0:
            self._data = None
            self.mapping = None
            self.flags &= ZONES_MASK
            if self.tail is not None:
                self.tail.anon_exclusive = 0
            vmstat.nr_folios_freed += 1

    def put_check(self, refs: int) -> int:
        """The ``_refcount`` dropping *refs* references leaves; KernelBug, with
        nothing changed, if that underflows or frees a folio still mapped or
        pinned."""
        new = self._refcount - refs
        if new < 0:
            raise KernelBug(f"_refcount underflow on {self!r}")
        if new == 0 and (self._mapcount or self.pincount()):
            raise KernelBug(f"freeing a mapped or pinned folio {self!r}: a reference was dropped twice")
        return new

    @staticmethod
    def folios_ref_try_add(folios: list[Folio], refs: list[int], small_bias: int = 1, pincount: bool = False) -> int:
        """``folio_ref_try_add()`` on each folio in turn, one atomic update each:
        *refs[i]* references on ``folios[i]``, times *small_bias* on a small
        folio; with *pincount*, a large folio's ``_pincount`` gains *refs[i]*
        too (``try_grab_folio()``'s FOLL_PIN arithmetic). A folio whose
        ``folio_ref_count()`` reads <= 0 (freed, or already past INT_MAX) is
        refused, and it and the rest are left unchanged, so the last grab
        accepted may take a count past INT_MAX, as the kernel's does. Returns how
        many folios were grabbed."""
        done = 0
        for folio, nr in zip(folios, refs):
            count = folio._refcount
            if not 0 < count <= REFCOUNT_MAX:
                break
            if folio.order:
                folio._refcount = count + nr
                if pincount:
                    folio._pincount += nr
            else:
                folio._refcount = count + nr * small_bias
            done += 1
        return done

    @staticmethod
    def folios_put_refs(folios: list[Folio], refs: list[int], small_bias: int = 1, pincount: bool = False) -> None:
        """``folios_put_refs()``: ``folio_put()`` of *refs[i]* references of each
        folio, scaled and with ``_pincount`` as :func:`folios_ref_try_add` took
        them; KernelBug at a ``_pincount`` underflow. A count that stays positive
        is dropped inline; anything else takes ``folio_put()``'s checks."""
        for folio, nr in zip(folios, refs):
            if folio.order:
                if pincount:
                    if folio._pincount < nr:
                        raise KernelBug(f"_pincount underflow on {folio!r}")
                    folio._pincount -= nr
            else:
                nr *= small_bias
            new = folio._refcount - nr
            if new > 0 and not folio.flags & _PG_RESERVED:
                folio._refcount = new
            else:
                folio.put(nr)

    def mapcount_add(self, nr: int) -> None:
        """*nr* page-table entries more (negative: fewer) map this folio."""
        self._mapcount += nr

    def move_counts_to(self, new: Folio) -> None:
        """Migration: *new* takes over every reference and mapping; this folio
        keeps only the references that are then dropped to free it."""
        new._refcount = self._refcount
        new._mapcount = self._mapcount
        self._mapcount = 0

    def test(self, flag: PG) -> bool:
        return bool(self.flags & flag)

    def page(self, index: int) -> Page:
        """``folio_page()``: the *index*-th base page."""
        if not 0 <= index < (1 << self.order):
            raise IndexError(f"page {index} of an order-{self.order} folio")
        return Page(self, index)

    # Data, allocated lazily per base page.
    def _subpage(self, i: int, create: bool) -> bytearray | None:
        data = self._data
        if self.order == 0:
            if data is None and create:
                data = self._data = bytearray(PAGE_SIZE)
            assert not isinstance(data, dict)
            return data
        if data is None:
            if not create:
                return None
            data = self._data = {}
        assert isinstance(data, dict)
        buf = data.get(i)
        if buf is None and create:
            buf = data[i] = bytearray(PAGE_SIZE)
        return buf

    def read(self, offset: int, length: int) -> bytes:
        """Read *length* bytes at byte *offset* of the folio."""
        self._check_range(offset, length)
        out = bytearray()
        while length:
            i, off = divmod(offset, PAGE_SIZE)
            n = min(length, PAGE_SIZE - off)
            buf = self._subpage(i, False)
            out += buf[off : off + n] if buf is not None else bytes(n)
            offset += n
            length -= n
        return bytes(out)

    def write(self, offset: int, data: bytes) -> None:
        """Write *data* at byte *offset* of the folio. Zeroes written to a
        page that holds no data yet leave it holding none: it reads as zeroes."""
        self._check_range(offset, len(data))
        pos = 0
        while pos < len(data):
            i, off = divmod(offset + pos, PAGE_SIZE)
            n = min(len(data) - pos, PAGE_SIZE - off)
            chunk = data[pos : pos + n]
            buf = self._subpage(i, chunk.count(0) != n)
            if buf is not None:
                buf[off : off + n] = chunk
            pos += n

    def copy_data_from(self, src: Folio) -> None:
        """``folio_copy()``: take *src*'s bytes (same size)."""
        assert src.order == self.order
        data = src._data
        if data is None:
            self._data = None
        elif isinstance(data, dict):
            self._data = {i: bytearray(b) for i, b in data.items()}
        else:
            self._data = bytearray(data)

    def _check_range(self, offset: int, length: int) -> None:
        if offset < 0 or length < 0 or offset + length > (PAGE_SIZE << self.order):
            raise KernelBug(f"access [{offset}, {offset + length}) outside {self!r}")


@final
class Page:
    """One base page of a folio: ``folio_page(folio, index)``."""

    __slots__ = ("folio", "index")
    _kind = ("a plain reference, which struct page calls take and put_page() drops; "
             "never its data (pin_user_pages.rst case 5)")  # fmt: skip

    folio: Folio
    index: int

    def __init__(self, folio: Folio, index: int) -> None:
        self.folio = folio
        self.index = index

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Page)
            and other.folio is self.folio
            and other.index == self.index
        )

    def __hash__(self) -> int:
        return hash((id(self.folio), self.index))

    def __repr__(self) -> str:
        return f"<Page pfn={self.pfn:#x} of {self.folio!r}>"

    @property
    def pfn(self) -> int:
        return self.folio.pfn + self.index


def page_read(page: Page, offset: int = 0, length: int = PAGE_SIZE) -> bytes:
    """Read *length* bytes at *offset* of one base page (EINVAL outside it).
    The model's own access: drivers reach page data only through a pin or a
    kernel page."""
    span(offset, length, PAGE_SIZE, "a page")
    return page.folio.read(page.index * PAGE_SIZE + offset, length)


def page_write(page: Page, offset: int, data: bytes) -> None:
    """Write *data* at *offset* of one base page (see ``page_read``)."""
    span(offset, len(data), PAGE_SIZE, "a page")
    page.folio.write(page.index * PAGE_SIZE + offset, data)


_EXCL: Final = int(PG.anon_exclusive)  # read once: an enum member lookup is slow


def page_flags(page: Page) -> int:
    """The flags of one page: its folio's, with PG.anon_exclusive as
    PageAnonExclusive() of this page."""
    folio = page.folio
    tail = folio.tail
    return folio.flags if tail is None else folio.flags | (_EXCL if tail.anon_exclusive >> page.index & 1 else 0)


def page_anon_exclusive(page: Page) -> bool:
    """``PageAnonExclusive()`` of a page mapped by a PTE."""
    return bool(page_flags(page) & _EXCL)


def set_page_anon_exclusive(page: Page, exclusive: bool) -> None:
    """``SetPageAnonExclusive()`` / ``ClearPageAnonExclusive()`` of a page
    mapped by a PTE (a PMD's head page is ``folio.flags``)."""
    folio = page.folio
    tail = folio.tail
    if tail is None:
        folio.flags = folio.flags | _EXCL if exclusive else folio.flags & ~_EXCL
    elif exclusive:
        tail.anon_exclusive |= 1 << page.index
    else:
        tail.anon_exclusive &= ~(1 << page.index)


class _Allocator:
    """Hands out naturally aligned pfns; frees return nothing to reuse, so a
    stale pointer to a freed folio is always detectable."""

    def __init__(self) -> None:
        self.next_pfn = 0x100
        self.zone = Zone.NORMAL

    def alloc(self, order: int, zone: Zone | None) -> Folio:
        align = 1 << order
        pfn = (self.next_pfn + align - 1) & ~(align - 1)
        self.next_pfn = pfn + align
        vmstat.nr_folios_allocated += 1
        return Folio(order, zone or self.zone, pfn)


_allocator: Final = _Allocator()


@entry_point
def alloc_folio(order: int = 0, zone: Zone | None = None) -> Folio:
    """``folio_alloc()``: a new folio with ``_refcount`` 1, owned by the caller.
    *zone* defaults to where user pages currently go (see ``alloc_zone``).
    EINVAL for an order past the largest folio, a 1 GiB hugetlb page."""
    if not 0 <= order <= HPAGE_PUD_ORDER:
        raise err(errno.EINVAL, f"no folio of order {order}: 0 to {HPAGE_PUD_ORDER}")
    with kernel_lock:
        return _allocator.alloc(order, zone)


@contextmanager
def model_setting(owner: object, attr: str, value: _V, check: Callable[[], None] | None = None) -> Generator[_V]:
    """Set ``owner.attr`` to *value* for the block, then restore it, both
    under ``kernel_lock``; *check* runs before each change and may refuse it."""
    with kernel_lock:
        if check is not None:
            check()
        saved = getattr(owner, attr)
        setattr(owner, attr, value)
    try:
        yield value
    finally:
        with kernel_lock:
            if check is not None:
                check()
            setattr(owner, attr, saved)


@entry_point
def alloc_zone(zone: Zone) -> AbstractContextManager[Zone]:
    """Context manager: user pages faulted in meanwhile come from *zone*
    (think movablecore= or a CMA area)."""
    return model_setting(_allocator, "zone", zone)


#: ``folio_split()``'s small folio for page *index* of a large one.
split_off: Final = Folio.split_off


_PG_RESERVED: Final = int(PG.reserved)  # an enum member lookup costs more than folio_put

#: Take *refs* plain references on a folio the caller already holds.
folio_get: Final = Folio.get
#: Drop *refs* references; the folio is freed when ``_refcount`` hits 0.
folio_put: Final = Folio.put
#: The ``_refcount`` dropping *refs* references leaves; KernelBug, with
#: nothing changed, if that underflows or frees a folio still mapped or pinned.
folio_put_check: Final = Folio.put_check


#: Batches of the page_ref helpers: one loop, no call per folio.
folios_ref_try_add: Final = Folio.folios_ref_try_add
folios_put_refs: Final = Folio.folios_put_refs


#: The shared zero page: mapped for reads of never-written anonymous memory;
#: never refcounted, never really pinned.
ZERO_FOLIO: Final = alloc_folio(0)
ZERO_FOLIO.flags |= PG.reserved
vmstat.nr_folios_allocated = 0
