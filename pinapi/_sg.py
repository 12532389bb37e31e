"""Scatterlists that carry the page handle type through.

The 2019 objection to a distinct pin type: pages go into a scatterlist and come
back out through ``sg_page()``, so the type is lost. Here the table is generic in
the kind of page it holds, ``SgTable[P]`` with ``P`` one of ``Page``,
``KernelPage``, ``PinnedPage[Perm]`` or ``BvecSegment[Perm]``: ``sg_page()``
returns what ``sg_set_page()`` stored, and a table holds one kind only, so
pins that come out of it are still pins, with their write permission, and
reach ``put_page()`` neither in the checkers nor at run time. An empty table
names its kind when it is allocated, ``sg_alloc_table(n, PinnedPage[Write])``,
so no checker is left to guess it. A bvec segment's entry may span its whole run (a huge page is one
entry), as a scatterlist entry over contiguous memory does.
"""

from __future__ import annotations

import errno
import typing
from collections.abc import Iterator, Sequence
from typing import Any, Final, Generic, TypeVar, final

from ._bvec import BvecSegment, PinnedBvec
from ._mm.errors import err
from ._handle import NoPublicConstructor
from ._highmem import KernelPage
from ._mm.page_alloc import PAGE_SIZE, Page, kernel_lock
from ._mm.validate import entry_point
from ._pin import MaybeWrite, Permission, PinnedPage, Read, Write
from ._mm.gup import FOLL

__all__ = [
    "ScatterList", "SgTable", "sg_alloc_table", "sg_alloc_table_from_pages", "sg_alloc_table_from_bvec",
    "sg_set_page", "sg_page", "for_each_sg", "sg_free_table",
]  # fmt: skip

#: The most entries one table may have (4 GiB of pages): past it the
#: allocation fails, as kmalloc() of a table too big for memory does.
SG_MAX_NENTS: Final = 1 << 20

#: The kinds of page a table may hold; one kind per table.
P = TypeVar("P", Page, KernelPage, PinnedPage[Any], BvecSegment[Any])
_KINDS: Final = (Page, KernelPage, PinnedPage, BvecSegment)
_PERMISSIONS: Final = (Read, Write, MaybeWrite)


@final
class ScatterList(Generic[P], metaclass=NoPublicConstructor):
    """One ``struct scatterlist`` entry: a page of its table's kind, an offset
    and a length in bytes."""

    __slots__ = ("_page", "offset", "length", "_table")

    _page: P | None
    offset: int
    length: int
    _table: SgTable[P]

    _factory = "entries come from sg_alloc_table()"

    def __init__(self, table: SgTable[P]) -> None:
        self._page = None
        self.offset = 0
        self.length = 0
        self._table = table

    def __repr__(self) -> str:
        return f"<ScatterList {self._page!r} +{self.offset} len {self.length}>"


@final
class SgTable(Generic[P], metaclass=NoPublicConstructor):
    """``struct sg_table``: *nents* entries, all holding one kind of page."""

    __slots__ = ("_sgl", "_kind", "_permission", "_freed")

    _sgl: list[ScatterList[P]]
    _kind: type
    _permission: type[Permission] | None  # of a pin table; None: any
    _freed: bool

    _factory = "tables come from sg_alloc_table()"

    def __init__(self, nents: int, kind: type, permission: type[Permission] | None) -> None:
        self._sgl = [ScatterList[P]._create(self) for _ in range(nents)]
        self._kind = kind
        self._permission = permission
        self._freed = False

    @property
    def nents(self) -> int:
        return len(self._sgl)

    def __repr__(self) -> str:
        return f"<SgTable {_kind_name(self)} x{len(self._sgl)}{' freed' if self._freed else ''}>"


def _kind_name(table: SgTable[Any]) -> str:
    perm = table._permission
    return f"{table._kind.__name__}[{perm.__name__}]" if perm is not None else table._kind.__name__


def _pin_flags(page: object) -> int:
    """The FOLL flags a pin (or a bvec segment) was taken with."""
    if type(page) is PinnedPage:
        return page._batch._record.flags
    assert type(page) is BvecSegment
    return page._bvec._record.flags


def _permits(permission: type[Permission] | None, page: object) -> bool:
    """A pin of a table typed Read or Write was taken without or with FOLL_WRITE."""
    if permission is None or permission is MaybeWrite:
        return True
    return bool(_pin_flags(page) & FOLL.WRITE) == (permission is Write)


def _check_live(table: SgTable[P]) -> None:
    if table._freed:
        raise err(errno.EINVAL, "use of an sg_table after sg_free_table()")


def _room(page: object) -> tuple[int, str]:
    """Bytes an entry may cover, and of what: a page, or a segment's run."""
    return (page.length, "its segment") if type(page) is BvecSegment else (PAGE_SIZE, "a page")


def _set(sg: ScatterList[P], page: P, length: int, offset: int) -> None:
    """Validate, then store *page* in *sg*: the table keeps one kind of page."""
    table = sg._table
    _check_live(table)
    kind = type(page)
    if kind not in _KINDS:
        raise TypeError(f"a scatterlist holds Page, PinnedPage, KernelPage or BvecSegment, got {kind.__name__}")
    if kind is not table._kind:
        raise TypeError(
            f"sg table of {_kind_name(table)} given a {kind.__name__}: a table holds one kind "
            "of page, so what sg_page() returns is released the way it was taken"
        )
    if not _permits(table._permission, page):
        have = "with" if _pin_flags(page) & FOLL.WRITE else "without"
        raise TypeError(f"sg table of {_kind_name(table)} given a {kind.__name__} pinned {have} FOLL_WRITE: "
                        "a table's pins share one write permission")  # fmt: skip
    room, what = _room(page)
    if offset < 0 or length <= 0 or offset + length > room:
        raise err(errno.EINVAL, f"sg entry [{offset}, {offset + length}) does not fit in {what}")
    sg._page, sg.length, sg.offset = page, length, offset


@entry_point
def sg_alloc_table(nents: int, kind: type[P]) -> SgTable[P]:
    """An empty table of *nents* entries for pages of *kind*: ``Page``,
    ``KernelPage``, or a pin type with its permission (``PinnedPage[Write]``)."""
    if nents <= 0:
        raise err(errno.EINVAL, f"nents must be positive, got {nents}")
    if nents > SG_MAX_NENTS:
        raise err(errno.ENOMEM, f"a table of {nents} entries: the model allocates at most {SG_MAX_NENTS}")
    origin = typing.get_origin(kind) or kind
    args = typing.get_args(kind)
    if origin not in _KINDS or (args and (origin not in (PinnedPage, BvecSegment) or args[0] not in _PERMISSIONS)):
        raise TypeError(f"sg_alloc_table() kind is Page, KernelPage, PinnedPage[...] or BvecSegment[...] "
                        f"with Read, Write or MaybeWrite, got {kind!r}")  # fmt: skip
    return SgTable[P]._create(nents, origin, args[0] if args else None)


@entry_point
def sg_alloc_table_from_pages(pages: Sequence[P], offset: int, size: int) -> SgTable[P]:
    """A table of *pages*, *size* bytes from *offset* in the first: all one kind."""
    n = len(pages)
    end = offset + size
    if not 0 <= offset < PAGE_SIZE or size <= 0 or not (n - 1) * PAGE_SIZE < end <= n * PAGE_SIZE:
        raise err(errno.EINVAL, f"{size} bytes from offset {offset} do not span {n} pages")
    with kernel_lock:
        table = SgTable[P]._create(n, type(pages[0]), None)
        for i, (sg, page) in enumerate(zip(table._sgl, pages)):
            start = offset if i == 0 else 0
            _set(sg, page, min(PAGE_SIZE, end - i * PAGE_SIZE) - start, start)
        return table


@entry_point
def sg_alloc_table_from_bvec(bvec: PinnedBvec[Permission]) -> SgTable[BvecSegment[Any]]:
    """A table with one entry per segment of *bvec* (``blk_rq_map_sg()``'s
    shape): what a driver maps for DMA. The bvec is still released with
    ``put_user_bvec()``."""
    with kernel_lock:
        segments = list(bvec)
        table = SgTable[BvecSegment[Any]]._create(len(segments), BvecSegment, None)
        for sg, segment in zip(table._sgl, segments):
            _set(sg, segment, segment.length, 0)
        return table


@entry_point
def sg_set_page(sg: ScatterList[P], page: P, length: int, offset: int) -> None:
    """Point *sg* at *length* bytes of *page* from *offset*; the page is of the
    table's kind."""
    with kernel_lock:
        _set(sg, page, length, offset)


@entry_point
def sg_page(sg: ScatterList[P]) -> P:
    """The page *sg* holds, as the handle type that was stored."""
    _check_live(sg._table)
    if sg._page is None:
        raise err(errno.EINVAL, "sg_page() of an entry never set with sg_set_page()")
    return sg._page


@entry_point
def for_each_sg(sgt: SgTable[P]) -> Iterator[ScatterList[P]]:
    """Every entry of the table, in order."""
    _check_live(sgt)
    return iter(sgt._sgl)


@entry_point
def sg_free_table(sgt: SgTable[P]) -> None:
    """Free the table; the pages it held are still the caller's to release."""
    _check_live(sgt)
    sgt._freed = True
