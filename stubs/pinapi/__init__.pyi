"""The pin contract: what driver code may call, and how each kind of page is
released. Stricter than the run time on purpose: handles are opaque, and
FOLL_PIN, FOLL_GET and the model's instruments are absent.

Three kinds of page never mix: ``Page`` (a plain reference, released with
``put_page()``), ``PinnedPage``/``PinnedBvec`` (pins, released only by the
unpin calls and ``put_user_bvec()``) and ``KernelPage`` (kernel memory).

A pin carries its write permission as a type argument: ``Write`` (taken with
FOLL_WRITE: data writes, ``make_dirty`` on release), ``Read`` (without it:
reads, released clean) or ``MaybeWrite`` (flags the checker cannot see;
``for_write()`` checks at run time).
"""

from abc import ABCMeta
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Final, Generic, Literal, TypeVar, final, overload, type_check_only

from typing_extensions import Self, deprecated

__all__ = [
    "BvecSegment",
    "FOLL_FORCE",
    "FOLL_LONGTERM",
    "FOLL_WRITE",
    "File",
    "Folio",
    "KernelBug",
    "KernelError",
    "KernelPage",
    "MADV_DOFORK",
    "MADV_DONTFORK",
    "MADV_DONTNEED",
    "MADV_HUGEPAGE",
    "MADV_NOHUGEPAGE",
    "MADV_PAGEOUT",
    "MAP_ANONYMOUS",
    "MAP_FIXED",
    "MAP_HUGETLB",
    "MAP_HUGE_1GB",
    "MAP_HUGE_2MB",
    "MAP_PRIVATE",
    "MAP_SHARED",
    "MM",
    "MaybeWrite",
    "MREMAP_FIXED",
    "MREMAP_MAYMOVE",
    "PAGE_SIZE",
    "PMD_SIZE",
    "PROT_EXEC",
    "PROT_NONE",
    "PROT_READ",
    "PROT_WRITE",
    "PUD_SIZE",
    "Read",
    "Page",
    "Permission",
    "PinWarning",
    "PinnedBvec",
    "PinnedPage",
    "PinnedPagePutWarning",
    "PinnedPages",
    "ScatterList",
    "SgTable",
    "TASK_SIZE",
    "VMA",
    "VaddrPin",
    "Write",
    "alloc_page",
    "current_mm",
    "folio_maybe_dma_pinned",
    "follow_page",
    "for_each_sg",
    "get_page",
    "get_user_bvec",
    "get_user_pages",
    "get_user_pages_fast",
    "get_user_pages_fast_only",
    "get_user_pages_remote",
    "kthread_use_mm",
    "memcpy_from_page",
    "memcpy_to_page",
    "page_maybe_dma_pinned",
    "pin_user_pages_fast",
    "put_page",
    "put_user_bvec",
    "release_pages",
    "set_page_dirty",
    "set_page_dirty_lock",
    "sg_alloc_table",
    "sg_alloc_table_from_bvec",
    "sg_alloc_table_from_pages",
    "sg_free_table",
    "sg_page",
    "sg_set_page",
    "shmem_file",
    "unpin_user_page",
    "unpin_user_pages",
    "unpin_user_pages_dirty_lock",
    "vaddr_pin_pages",
    "vaddr_unpin_pages_dirty_lock",
]

PAGE_SIZE: Final = 4096
PMD_SIZE: Final = 2097152
PUD_SIZE: Final = 1073741824
TASK_SIZE: Final = 140737488351232
PROT_NONE: Final = 0
PROT_READ: Final = 1
PROT_WRITE: Final = 2
PROT_EXEC: Final = 4
MAP_SHARED: Final = 1
MAP_PRIVATE: Final = 2
MAP_FIXED: Final = 16
MAP_ANONYMOUS: Final = 32
MAP_HUGETLB: Final = 262144
MAP_HUGE_2MB: Final = 1409286144
MAP_HUGE_1GB: Final = 2013265920
MADV_DONTNEED: Final = 4
MADV_DONTFORK: Final = 10
MADV_DOFORK: Final = 11
MADV_HUGEPAGE: Final = 14
MADV_NOHUGEPAGE: Final = 15
MADV_PAGEOUT: Final = 21
MREMAP_MAYMOVE: Final = 1
MREMAP_FIXED: Final = 2

# -- errors -------------------------------------------------------------------
class KernelError(OSError):
    """A call the kernel fails with -errno; the message names the rule; nothing changed."""

class KernelBug(AssertionError):
    """A state the kernel would BUG() on."""

class PinWarning(RuntimeWarning):
    """A WARN() from the pin machinery."""

class PinnedPagePutWarning(PinWarning):
    """Debug pin counter: put_page() dropped a reference a live pin owns."""

@final
@type_check_only
class _NoPublicConstructor:
    """Handles come only from their factory; no driver can make this argument."""

@type_check_only
class _HandleMeta(ABCMeta):
    """The handles' metaclass: no virtual subclasses, so isinstance() cannot be forged."""
    def register(cls, subclass: _NoPublicConstructor, /) -> None: ...  # type: ignore[override]

# -- write permission ---------------------------------------------------------------
class Permission:
    """What a pin may do with the page's data: the type argument of every pin handle."""

@final
class Read(Permission):
    """Pinned without FOLL_WRITE: the data may be read; released with make_dirty=False."""

class MaybeWrite(Permission):
    """Flags the checker cannot see: release with any make_dirty; write after for_write()."""

@final
class Write(MaybeWrite):
    """Pinned with FOLL_WRITE: the data may be written and the release may dirty it."""

_F = TypeVar("_F", Read, Write)
_W = TypeVar("_W", bound=Permission, covariant=True)

# -- gup_flags ------------------------------------------------------------------
@final
@type_check_only
class GupFlags(int, Generic[_F]):
    """gup_flags any GUP entry point takes (FOLL_WRITE, FOLL_FORCE): ``Write`` if FOLL_WRITE is in."""
    @overload
    def __or__(self: GupFlags[Write], value: GupFlags[Read] | GupFlags[Write], /) -> GupFlags[Write]: ...
    @overload
    def __or__(self: GupFlags[Write], value: PinFlags[Read] | PinFlags[Write], /) -> PinFlags[Write]: ...
    @overload
    def __or__(self: GupFlags[Read], value: GupFlags[Write], /) -> GupFlags[Write]: ...
    @overload
    def __or__(self: GupFlags[Read], value: PinFlags[Write], /) -> PinFlags[Write]: ...
    @overload
    def __or__(self: GupFlags[Read], value: GupFlags[Read], /) -> GupFlags[Read]: ...
    @overload
    def __or__(self: GupFlags[Read], value: PinFlags[Read], /) -> PinFlags[Read]: ...
    @overload
    def __or__(self, value: int, /) -> int: ...
    # mypy tries __ror__ first when both operands are of one flags class, and
    # calls one overload's overlap with __or__ unsafe: both give the same type.
    @overload
    def __ror__(self: GupFlags[Write], value: GupFlags[Read] | GupFlags[Write], /) -> GupFlags[Write]: ...
    @overload
    def __ror__(self: GupFlags[Read], value: GupFlags[Write], /) -> GupFlags[Write]: ...  # type: ignore[misc]
    @overload
    def __ror__(self: GupFlags[Read], value: GupFlags[Read], /) -> GupFlags[Read]: ...
    @overload
    def __ror__(self, value: int, /) -> int: ...

@final
@type_check_only
class PinFlags(int, Generic[_F]):
    """gup_flags only the pin API takes: anything with FOLL_LONGTERM; ``Write`` if FOLL_WRITE is in."""
    @overload
    def __or__(self: PinFlags[Write], value: _AnyFlags, /) -> PinFlags[Write]: ...
    @overload
    def __or__(self: PinFlags[Read], value: GupFlags[Write] | PinFlags[Write], /) -> PinFlags[Write]: ...
    @overload
    def __or__(self: PinFlags[Read], value: GupFlags[Read] | PinFlags[Read], /) -> PinFlags[Read]: ...
    @overload
    def __or__(self, value: int, /) -> int: ...
    @overload
    def __ror__(self: PinFlags[Write], value: PinFlags[Read] | PinFlags[Write], /) -> PinFlags[Write]: ...
    @overload
    def __ror__(self: PinFlags[Read], value: PinFlags[Write], /) -> PinFlags[Write]: ...  # type: ignore[misc]
    @overload
    def __ror__(self: PinFlags[Read], value: PinFlags[Read], /) -> PinFlags[Read]: ...
    @overload
    def __ror__(self, value: int, /) -> int: ...

_AnyFlags = GupFlags[Read] | GupFlags[Write] | PinFlags[Read] | PinFlags[Write]
_GupOnly = GupFlags[Read] | GupFlags[Write] | Literal[0]

FOLL_WRITE: Final[GupFlags[Write]]
"""The caller will write the pages' data; needs a writable mapping."""
FOLL_FORCE: Final[GupFlags[Read]]
"""Read or break COW in a mapping without the permission (ptrace)."""
FOLL_LONGTERM: Final[PinFlags[Read]]
"""A pin held indefinitely (RDMA); the pin calls only: vaddr_pin_pages(), pin_user_pages_fast(), get_user_bvec()."""

# -- address spaces ---------------------------------------------------------------
class File:
    """An open file: what mmap() maps and a VaddrPin may name as the owner."""
    name: str

def shmem_file(size: int, name: str = "shmem") -> File:
    """An unlinked tmpfs file of *size* bytes."""

class VMA:
    """``struct vm_area_struct``: [vm_start, vm_end) with one set of flags."""
    vm_mm: MM
    vm_start: int
    vm_end: int
    vm_flags: int
    vm_file: File | None
    vm_pgoff: int
    huge_order: int
    @property
    def is_anonymous(self) -> bool: ...
    @property
    def is_shared(self) -> bool: ...

class MM:
    """``struct mm_struct``: a process address space."""
    name: str
    def __init__(self, name: str = "") -> None: ...
    def mmap(self, length: int, prot: int = 3, flags: int = 34, file: File | None = None,
             offset: int = 0, addr: int = 0, vm_flags: int = 0) -> int:
        """Map *length* bytes; returns the address."""
    def munmap(self, addr: int, length: int) -> None: ...
    def mremap(self, old_addr: int, old_size: int, new_size: int, flags: int = 0, new_addr: int = 0) -> int:
        """Resize or move a range of one VMA; pins and data move with it."""
    def mprotect(self, addr: int, length: int, prot: int) -> None: ...
    def madvise(self, addr: int, length: int, advice: int) -> None: ...
    def find_vma(self, addr: int) -> VMA | None: ...
    def read(self, addr: int, length: int) -> bytes:
        """What the process reads at *addr*."""
    def write(self, addr: int, data: bytes) -> None:
        """The process writes *data* at *addr*."""
    def fork(self, name: str = "") -> MM:
        """fork(): a pinned anonymous page stays with this MM; the child gets a copy."""
    def exit(self) -> None:
        """The process exits; its pins stay with their holders."""

def current_mm() -> MM:
    """``current->mm``; ESRCH outside kthread_use_mm()."""

def kthread_use_mm(mm: MM) -> AbstractContextManager[MM]:
    """Run the block with ``current->mm`` set to *mm*."""

# -- struct page ------------------------------------------------------------------
@final
class Folio:
    """The unit that owns the counts; read-only here (no data access)."""
    @property
    def pfn(self) -> int: ...
    @property
    def order(self) -> int: ...
    @property
    def nr_pages(self) -> int: ...
    @property
    def size(self) -> int: ...
    def refcount(self) -> int: ...
    def pincount(self) -> int: ...
    def mapcount(self) -> int: ...

@final
class Page:
    """A plain reference: struct-page calls only, never data (cases 3, 4); put_page() releases it."""
    def __new__(cls, never: _NoPublicConstructor, /) -> Self: ...
    def __init__(self, never: _NoPublicConstructor, /) -> None: ...
    @property
    def folio(self) -> Folio: ...
    @property
    def index(self) -> int: ...
    @property
    def pfn(self) -> int: ...

@final
class KernelPage(metaclass=_HandleMeta):
    """A page from alloc_page(): kernel memory whose data the caller may touch."""
    def __new__(cls, never: _NoPublicConstructor, /) -> Self: ...
    def __init__(self, never: _NoPublicConstructor, /) -> None: ...
    @property  # type: ignore[misc]
    def __class__(self) -> type[Self]: ...  # pyright: ignore[reportIncompatibleMethodOverride]
    @property
    def folio(self) -> Folio: ...
    @property
    def pfn(self) -> int: ...

def alloc_page() -> KernelPage:
    """A zeroed kernel page with one reference; put_page() frees it."""

# -- the pin API ------------------------------------------------------------------
@final
class VaddrPin:
    """``struct vaddr_pin``: who holds a pin, an MM and/or a file (one at least)."""
    mm: MM | None
    file: File | None
    @overload
    def __init__(self, mm: MM, file: File | None = None) -> None: ...
    @overload
    def __init__(self, mm: None = None, *, file: File) -> None: ...

@final
class PinnedPage(Generic[_W], metaclass=_HandleMeta):
    """One pinned base page; not a Page. Released only by unpin_user_page(s)."""
    def __new__(cls, never: _NoPublicConstructor, /) -> Self: ...
    def __init__(self, never: _NoPublicConstructor, /) -> None: ...
    @property  # type: ignore[misc]
    def __class__(self) -> type[Self]: ...  # pyright: ignore[reportIncompatibleMethodOverride]
    @property
    def pinned(self) -> bool:
        """False once unpinned; any further use is EINVAL."""
    def read(self, offset: int = 0, length: int = 4096) -> bytes:
        """The device (or CPU) reads the pinned page's data."""
    def write(self: PinnedPage[Write], offset: int, data: bytes) -> None:
        """The device (or CPU) writes the page's data; a pin without FOLL_WRITE is EPERM."""
    def for_write(self: PinnedPage[MaybeWrite]) -> PinnedPage[Write]:
        """This pin, to write through: EPERM unless it was taken with FOLL_WRITE."""

@final
class PinnedPages(Sequence[PinnedPage[_W]], metaclass=_HandleMeta):
    """The pins of one vaddr_pin_pages() call; a context manager unpins what is left."""
    def __new__(cls, never: _NoPublicConstructor, /) -> Self: ...
    def __init__(self, never: _NoPublicConstructor, /) -> None: ...
    @property  # type: ignore[misc]
    def __class__(self) -> type[Self]: ...  # pyright: ignore[reportIncompatibleMethodOverride]
    def __len__(self) -> int: ...
    @overload
    def __getitem__(self, i: int) -> PinnedPage[_W]: ...
    @overload
    def __getitem__(self, i: slice) -> list[PinnedPage[_W]]: ...
    def __iter__(self) -> Iterator[PinnedPage[_W]]: ...
    @property
    def nr_pinned(self) -> int: ...
    @property
    def owner(self) -> VaddrPin: ...
    def for_write(self: PinnedPages[MaybeWrite]) -> PinnedPages[Write]:
        """These pins, to write through: EPERM unless they were taken with FOLL_WRITE."""
    def __enter__(self) -> Self: ...
    def __exit__(self, *exc: object) -> None: ...
    def __del__(self) -> None:
        """Collected with pins still live: ResourceWarning, the pins leak."""

# The write permission follows the flags: FOLL_WRITE in them, not in them, or
# flags the checker cannot see (int: a variable built up from 0). mypy counts a
# flags value as possibly 0 and int as wider than the read overload: both overlaps
# are the design.
@overload
def vaddr_pin_pages(addr: int, nr_pages: int, gup_flags: GupFlags[Write] | PinFlags[Write],  # type: ignore[overload-overlap]
                    vaddr_pin: VaddrPin) -> PinnedPages[Write]:
    """Pin *nr_pages* user pages from *addr* for *vaddr_pin*: all or nothing."""
@overload
def vaddr_pin_pages(addr: int, nr_pages: int, gup_flags: GupFlags[Read] | PinFlags[Read] | Literal[0],  # type: ignore[overload-overlap]
                    vaddr_pin: VaddrPin) -> PinnedPages[Read]: ...
@overload
def vaddr_pin_pages(addr: int, nr_pages: int, gup_flags: int, vaddr_pin: VaddrPin) -> PinnedPages[MaybeWrite]: ...

@overload
def pin_user_pages_fast(start: int, nr_pages: int,  # type: ignore[overload-overlap]
                        gup_flags: GupFlags[Write] | PinFlags[Write]) -> PinnedPages[Write]:
    """GUP-fast, then the slow path: pins up to *nr_pages* of the current MM; a short result is the caller's."""
@overload
def pin_user_pages_fast(start: int, nr_pages: int,  # type: ignore[overload-overlap]
                        gup_flags: GupFlags[Read] | PinFlags[Read] | Literal[0]) -> PinnedPages[Read]: ...
@overload
def pin_user_pages_fast(start: int, nr_pages: int, gup_flags: int) -> PinnedPages[MaybeWrite]: ...

def unpin_user_page(page: PinnedPage[Permission]) -> None:
    """Release one pin; a plain Page is released with put_page() instead."""

def unpin_user_pages(pages: Iterable[PinnedPage[Permission]]) -> None:
    """Release pins, each exactly once; plain pages and bvec segments are refused."""

# make_dirty: any bool on a write pin or one of unknown permission (checked at
# run time), False on a read pin. The Write overload comes first so that mypy,
# inferring a list of sg_page() results in its context, keeps them write pins.
@overload
def unpin_user_pages_dirty_lock(pages: Iterable[PinnedPage[Write]], make_dirty: bool) -> None:
    """Release pins, first dirtying each folio not yet dirty when *make_dirty* (a read pin: EINVAL)."""
@overload
def unpin_user_pages_dirty_lock(pages: Iterable[PinnedPage[MaybeWrite]], make_dirty: bool) -> None: ...
@overload
def unpin_user_pages_dirty_lock(pages: Iterable[PinnedPage[Permission]], make_dirty: Literal[False]) -> None: ...

@overload
def vaddr_unpin_pages_dirty_lock(pages: Iterable[PinnedPage[Write]], vaddr_pin: VaddrPin,
                                 make_dirty: bool) -> None:
    """unpin_user_pages_dirty_lock() of pins that must be *vaddr_pin*'s (EINVAL)."""
@overload
def vaddr_unpin_pages_dirty_lock(pages: Iterable[PinnedPage[MaybeWrite]], vaddr_pin: VaddrPin,
                                 make_dirty: bool) -> None: ...
@overload
def vaddr_unpin_pages_dirty_lock(pages: Iterable[PinnedPage[Permission]], vaddr_pin: VaddrPin,
                                 make_dirty: Literal[False]) -> None: ...

def folio_maybe_dma_pinned(folio: Folio) -> bool:
    """Exact for large folios; 1024 plain references on a small one look pinned."""

def page_maybe_dma_pinned(page: Page | PinnedPage[Permission]) -> bool:
    """folio_maybe_dma_pinned() of the page's folio."""

# -- bio_vec pins: one segment per physically contiguous run in a folio ----------
@final
class BvecSegment(Generic[_W], metaclass=_HandleMeta):
    """One bio_vec of a PinnedBvec; not a Page: released only with its bvec."""
    def __new__(cls, never: _NoPublicConstructor, /) -> Self: ...
    def __init__(self, never: _NoPublicConstructor, /) -> None: ...
    @property  # type: ignore[misc]
    def __class__(self) -> type[Self]: ...  # pyright: ignore[reportIncompatibleMethodOverride]
    @property
    def pinned(self) -> bool: ...
    @property
    def pfn(self) -> int: ...
    @property
    def offset(self) -> int:
        """Where the data starts in the first page."""
    @property
    def length(self) -> int:
        """Bytes in the segment, possibly spanning many pages."""
    def read(self, offset: int = 0, length: int | None = None) -> bytes:
        """The device (or CPU) reads the segment's data."""
    def write(self: BvecSegment[Write], offset: int, data: bytes) -> None:
        """The device (or CPU) writes the segment's data; a bvec without FOLL_WRITE is EPERM."""
    def for_write(self: BvecSegment[MaybeWrite]) -> BvecSegment[Write]:
        """This segment, to write through: EPERM unless its bvec was taken with FOLL_WRITE."""

@final
class PinnedBvec(Sequence[BvecSegment[_W]], metaclass=_HandleMeta):
    """The pins of one get_user_bvec() call; released only by put_user_bvec()."""
    def __new__(cls, never: _NoPublicConstructor, /) -> Self: ...
    def __init__(self, never: _NoPublicConstructor, /) -> None: ...
    @property  # type: ignore[misc]
    def __class__(self) -> type[Self]: ...  # pyright: ignore[reportIncompatibleMethodOverride]
    def __len__(self) -> int: ...
    @overload
    def __getitem__(self, i: int) -> BvecSegment[_W]: ...
    @overload
    def __getitem__(self, i: slice) -> list[BvecSegment[_W]]: ...
    def __iter__(self) -> Iterator[BvecSegment[_W]]: ...
    @property
    def pinned(self) -> bool: ...
    @property
    def length(self) -> int: ...
    @property
    def nr_pages(self) -> int: ...
    @property
    def owner(self) -> VaddrPin: ...
    def for_write(self: PinnedBvec[MaybeWrite]) -> PinnedBvec[Write]:
        """This bvec, to write through: EPERM unless it was taken with FOLL_WRITE."""
    def __enter__(self) -> Self: ...
    def __exit__(self, *exc: object) -> None: ...
    def __del__(self) -> None:
        """Collected still pinned: ResourceWarning, the pins leak."""

@overload
def get_user_bvec(addr: int, length: int, gup_flags: GupFlags[Write] | PinFlags[Write],  # type: ignore[overload-overlap]
                  vaddr_pin: VaddrPin) -> PinnedBvec[Write]:
    """Pin *length* bytes at *addr* as bio_vec segments, one count update per folio."""
@overload
def get_user_bvec(addr: int, length: int, gup_flags: GupFlags[Read] | PinFlags[Read] | Literal[0],  # type: ignore[overload-overlap]
                  vaddr_pin: VaddrPin) -> PinnedBvec[Read]: ...
@overload
def get_user_bvec(addr: int, length: int, gup_flags: int, vaddr_pin: VaddrPin) -> PinnedBvec[MaybeWrite]: ...

@overload
def put_user_bvec(bvec: PinnedBvec[MaybeWrite], make_dirty: bool) -> None:
    """Release a whole bvec once (dirtying a read bvec: EINVAL); per-page pins go to unpin_user_pages()."""
@overload
def put_user_bvec(bvec: PinnedBvec[Permission], make_dirty: Literal[False]) -> None: ...

# -- kmap-style data access (pin_user_pages.rst case 5) ----------------------------
def memcpy_to_page(page: PinnedPage[Write] | KernelPage, offset: int, data: bytes) -> None:
    """Write page data: only through a FOLL_WRITE pin or a kernel page, never a plain Page."""

def memcpy_from_page(page: PinnedPage[Permission] | KernelPage, offset: int, length: int) -> bytes:
    """Read page data: only through a pin or a kernel page, never a plain Page."""

# -- plain references (cases 3 and 4: struct page only) ----------------------------
@deprecated("get_user_pages() takes plain references: to touch page data use vaddr_pin_pages()")
def get_user_pages(start: int, nr_pages: int, gup_flags: _GupOnly) -> list[Page]:
    """Deprecated: plain references on the current MM; use vaddr_pin_pages()."""

def get_user_pages_remote(mm: MM, start: int, nr_pages: int, gup_flags: _GupOnly) -> list[Page]:
    """Plain references; a short list is a partial result the caller must put_page()."""

def get_user_pages_fast(start: int, nr_pages: int, gup_flags: _GupOnly) -> list[Page]:
    """Plain references on the current MM, GUP-fast first; a short list is the caller's to put_page()."""

def get_user_pages_fast_only(start: int, nr_pages: int, gup_flags: _GupOnly) -> list[Page]:
    """GUP-fast alone: never faults; what it took without the slow path, maybe nothing."""

def follow_page(vma: VMA, address: int, foll_flags: _GupOnly = 0) -> Page | None:
    """The page at *address* with a plain reference, or None; never faults."""

def get_page(page: Page | KernelPage) -> None:
    """One more plain reference; never on a pin."""

def put_page(page: Page | KernelPage) -> None:
    """Drop one plain reference; a pin is released with unpin_user_page()."""

def release_pages(pages: Iterable[Page]) -> None:
    """put_page() each page; pins are refused, all checked before any is dropped."""

def set_page_dirty(page: Page) -> None:
    """Mark a plain-referenced page's folio dirty (folio locked by the caller)."""

def set_page_dirty_lock(page: Page) -> None:
    """Lock, dirty and unlock a plain-referenced page's folio."""

# -- scatterlists carry the handle type --------------------------------------------
_P = TypeVar("_P", Page, KernelPage, PinnedPage[Write], PinnedPage[Read], PinnedPage[MaybeWrite],
             BvecSegment[Write], BvecSegment[Read], BvecSegment[MaybeWrite])

@final
class ScatterList(Generic[_P], metaclass=_HandleMeta):
    """One sg entry holding a page of its table's kind."""
    def __new__(cls, never: _NoPublicConstructor, /) -> Self: ...
    def __init__(self, never: _NoPublicConstructor, /) -> None: ...
    @property  # type: ignore[misc]
    def __class__(self) -> type[Self]: ...  # pyright: ignore[reportIncompatibleMethodOverride]
    offset: int
    length: int

@final
class SgTable(Generic[_P], metaclass=_HandleMeta):
    """``struct sg_table``: entries that all hold one kind of page."""
    def __new__(cls, never: _NoPublicConstructor, /) -> Self: ...
    def __init__(self, never: _NoPublicConstructor, /) -> None: ...
    @property  # type: ignore[misc]
    def __class__(self) -> type[Self]: ...  # pyright: ignore[reportIncompatibleMethodOverride]
    @property
    def nents(self) -> int: ...

def sg_alloc_table(nents: int, kind: type[_P]) -> SgTable[_P]:
    """An empty table of the *kind* it will hold: ``sg_alloc_table(n, PinnedPage[Write])``."""

def sg_alloc_table_from_pages(pages: Sequence[_P], offset: int, size: int) -> SgTable[_P]:
    """A table of *pages*, all of one kind, *size* bytes from *offset*."""

@overload
def sg_alloc_table_from_bvec(bvec: PinnedBvec[Write]) -> SgTable[BvecSegment[Write]]:
    """One entry per bvec segment, to map for DMA; the bvec is released with put_user_bvec()."""
@overload
def sg_alloc_table_from_bvec(bvec: PinnedBvec[Read]) -> SgTable[BvecSegment[Read]]: ...
@overload
def sg_alloc_table_from_bvec(bvec: PinnedBvec[MaybeWrite]) -> SgTable[BvecSegment[MaybeWrite]]: ...

def sg_set_page(sg: ScatterList[_P], page: _P, length: int, offset: int) -> None:
    """Store *page* in *sg*; it must be of the table's kind."""

def sg_page(sg: ScatterList[_P]) -> _P:
    """The page stored in *sg*, as the handle type it went in as."""

def for_each_sg(sgt: SgTable[_P]) -> Iterator[ScatterList[_P]]:
    """Every entry of the table, in order."""

def sg_free_table(sgt: SgTable[_P]) -> None:
    """Free the table; the pages it held are still the caller's to release."""
