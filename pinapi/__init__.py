"""pinapi: a typed, executable model of the kernel's user-page pinning API.

This module is the contract drivers program against: exactly the names of
the typed header ``stubs/pinapi/__init__.pyi``. The model's instruments
(vmstat, the pin ledger, tracking strategies, filesystems, writeback, reclaim,
migration, flag sets, zones) are in ``pinapi.lowlevel``.

Layers, bottom up; a module imports only from layers below it
(``tests/test_layering.py`` parses every import and enforces it):

    _mm/      the model, split as the kernel's mm/ is (see _mm/__init__.py)
    _handle   opaque handles: NoPublicConstructor, HandleSequence
    _pin      vaddr_pin_pages(), PinnedPage(s), the unpin calls, the ledger
    _bvec     get_user_bvec() / put_user_bvec()
    _highmem  kernel-owned pages and kmap-style data access (case 5)
    _legacy   get_user_pages() and the plain-reference calls
    _sg       scatterlists generic in the page handle they carry
    pinapi, lowlevel   the public faces: the contract, the instruments
    _tools/   what a user runs on their own code, shipped in the wheel:
              check (type-check driver code, balance analysis; report:
              findings and their formats), run (scenario runs), bench
              (gup_test); pytest_plugin: the balance checked at run time
    _lab/     what needs a source checkout: the main job over examples/,
              the drivers table, the review and its experiments
"""

from ._bvec import BvecSegment as BvecSegment
from ._bvec import PinnedBvec as PinnedBvec
from ._bvec import get_user_bvec as get_user_bvec
from ._bvec import put_user_bvec as put_user_bvec
from ._highmem import KernelPage as KernelPage
from ._highmem import alloc_page as alloc_page
from ._highmem import memcpy_from_page as memcpy_from_page
from ._highmem import memcpy_to_page as memcpy_to_page
from ._legacy import follow_page as follow_page
from ._legacy import get_page as get_page
from ._legacy import get_user_pages as get_user_pages  # type: ignore[deprecated]
from ._legacy import get_user_pages_fast as get_user_pages_fast
from ._legacy import get_user_pages_fast_only as get_user_pages_fast_only
from ._legacy import get_user_pages_remote as get_user_pages_remote
from ._legacy import put_page as put_page
from ._legacy import release_pages as release_pages
from ._legacy import set_page_dirty as set_page_dirty
from ._legacy import set_page_dirty_lock as set_page_dirty_lock
from ._mm.errors import KernelBug as KernelBug
from ._mm.errors import KernelError as KernelError
from ._mm.errors import PinWarning as PinWarning
from ._mm.errors import PinnedPagePutWarning as PinnedPagePutWarning
from ._mm.fs import File as File
from ._mm.fs import shmem_file as shmem_file
from ._mm.gup import FOLL_FORCE as FOLL_FORCE
from ._mm.gup import FOLL_LONGTERM as FOLL_LONGTERM
from ._mm.gup import FOLL_WRITE as FOLL_WRITE
from ._mm.kthread import current_mm as current_mm
from ._mm.kthread import kthread_use_mm as kthread_use_mm
from ._mm.mm_types import TASK_SIZE as TASK_SIZE
from ._mm.mm_types import VMA as VMA
from ._mm.mmap import MADV_DOFORK as MADV_DOFORK
from ._mm.mmap import MADV_DONTFORK as MADV_DONTFORK
from ._mm.mmap import MADV_DONTNEED as MADV_DONTNEED
from ._mm.mmap import MADV_HUGEPAGE as MADV_HUGEPAGE
from ._mm.mmap import MADV_NOHUGEPAGE as MADV_NOHUGEPAGE
from ._mm.mmap import MADV_PAGEOUT as MADV_PAGEOUT
from ._mm.mmap import MAP_ANONYMOUS as MAP_ANONYMOUS
from ._mm.mmap import MAP_FIXED as MAP_FIXED
from ._mm.mmap import MAP_HUGETLB as MAP_HUGETLB
from ._mm.mmap import MAP_HUGE_1GB as MAP_HUGE_1GB
from ._mm.mmap import MAP_HUGE_2MB as MAP_HUGE_2MB
from ._mm.mmap import MAP_PRIVATE as MAP_PRIVATE
from ._mm.mmap import MAP_SHARED as MAP_SHARED
from ._mm.mmap import MM as MM
from ._mm.mmap import MREMAP_FIXED as MREMAP_FIXED
from ._mm.mmap import MREMAP_MAYMOVE as MREMAP_MAYMOVE
from ._mm.mmap import PROT_EXEC as PROT_EXEC
from ._mm.mmap import PROT_NONE as PROT_NONE
from ._mm.mmap import PROT_READ as PROT_READ
from ._mm.mmap import PROT_WRITE as PROT_WRITE
from ._mm.page_alloc import Folio as Folio
from ._mm.page_alloc import PAGE_SIZE as PAGE_SIZE
from ._mm.page_alloc import PMD_SIZE as PMD_SIZE
from ._mm.page_alloc import PUD_SIZE as PUD_SIZE
from ._mm.page_alloc import Page as Page
from ._pin import MaybeWrite as MaybeWrite
from ._pin import Permission as Permission
from ._pin import PinnedPage as PinnedPage
from ._pin import PinnedPages as PinnedPages
from ._pin import Read as Read
from ._pin import VaddrPin as VaddrPin
from ._pin import Write as Write
from ._pin import folio_maybe_dma_pinned as folio_maybe_dma_pinned
from ._pin import page_maybe_dma_pinned as page_maybe_dma_pinned
from ._pin import pin_user_pages_fast as pin_user_pages_fast
from ._pin import unpin_user_page as unpin_user_page
from ._pin import unpin_user_pages as unpin_user_pages
from ._pin import unpin_user_pages_dirty_lock as unpin_user_pages_dirty_lock
from ._pin import vaddr_pin_pages as vaddr_pin_pages
from ._pin import vaddr_unpin_pages_dirty_lock as vaddr_unpin_pages_dirty_lock
from ._sg import ScatterList as ScatterList
from ._sg import SgTable as SgTable
from ._sg import for_each_sg as for_each_sg
from ._sg import sg_alloc_table as sg_alloc_table
from ._sg import sg_alloc_table_from_bvec as sg_alloc_table_from_bvec
from ._sg import sg_alloc_table_from_pages as sg_alloc_table_from_pages
from ._sg import sg_free_table as sg_free_table
from ._sg import sg_page as sg_page
from ._sg import sg_set_page as sg_set_page

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


def _report_module_pinapi() -> None:
    """Classes and functions report the module drivers import them from."""
    for name in __all__:
        obj = globals()[name]
        if callable(obj):
            obj.__module__ = __name__


_report_module_pinapi()
