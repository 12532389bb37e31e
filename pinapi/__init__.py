"""pinapi: a typed, executable model of the kernel's user-page pinning API.

Layering, bottom up (each module imports only those above it):

    _page     folios, pages, zones, the allocator, vmstat
    _track    pin-tracking strategies: the only pin arithmetic
    _fs       files, inodes, the page cache; tmpfs, hugetlbfs, ext4, fsdax
    _mm       MM, VMAs, page tables, faults, fork
    _gup      the GUP engine every entry point goes through
    _migrate  rmap and migration (FOLL_LONGTERM)
    _writeback  writeback and reclaim, aware of pins
    _task     current->mm
    _debug    the debug pin counter
    _handle   NoPublicConstructor: handles only their factory makes
    _pin      vaddr_pin_pages() and its opaque handles; the pin ledger
    _bvec     get_user_bvec(): pins as bio_vec segments, one per folio run
    _highmem  kernel-owned pages and kmap-style data access (case 5)
    _legacy   get_user_pages() and the plain-reference calls
    _sg       scatterlists generic in the page handle they carry

Above the model, the tools behind ``python -m pinapi``: ``_run`` (the main
job), ``_check`` (type-check driver code), ``_drivers`` (the call-site
table), ``_bench`` (gup_test), and the review's evidence: ``_race`` (the
writeback race, replayable), ``_evidence`` (release mistakes on bare struct
pages), ``_checkers`` (the checker x misuse table), ``_review``. For
users' code: ``_tools/balance`` (the static balance analysis ``pinapi
check`` runs, stdlib only) and ``pytest_plugin`` (its runtime counterpart).

The typed contract drivers see is ``stubs/pinapi/__init__.pyi``.
"""

from ._bvec import BvecSegment as BvecSegment
from ._bvec import PinnedBvec as PinnedBvec
from ._bvec import get_user_bvec as get_user_bvec
from ._bvec import put_user_bvec as put_user_bvec
from ._errors import KernelBug as KernelBug
from ._errors import KernelError as KernelError
from ._errors import PinnedPagePutWarning as PinnedPagePutWarning
from ._errors import PinWarning as PinWarning
from ._fs import F_LAYOUT as F_LAYOUT
from ._fs import F_UNLCK as F_UNLCK
from ._fs import Ext4 as Ext4
from ._fs import File as File
from ._fs import FsDax as FsDax
from ._fs import FsWarning as FsWarning
from ._fs import Hugetlbfs as Hugetlbfs
from ._fs import FileSystem as FileSystem
from ._fs import Inode as Inode
from ._fs import Shmem as Shmem
from ._fs import shmem_file as shmem_file
from ._gup import FOLL as FOLL
from ._gup import FOLL_FORCE as FOLL_FORCE
from ._gup import FOLL_GET as FOLL_GET
from ._gup import FOLL_LONGTERM as FOLL_LONGTERM
from ._gup import FOLL_PIN as FOLL_PIN
from ._gup import FOLL_WRITE as FOLL_WRITE
from ._highmem import KernelPage as KernelPage
from ._highmem import alloc_page as alloc_page
from ._highmem import memcpy_from_page as memcpy_from_page
from ._highmem import memcpy_to_page as memcpy_to_page
from ._legacy import follow_page as follow_page
from ._legacy import get_page as get_page
from ._legacy import get_user_pages as get_user_pages  # type: ignore[deprecated]
from ._legacy import get_user_pages_remote as get_user_pages_remote
from ._legacy import put_page as put_page
from ._legacy import release_pages as release_pages
from ._legacy import set_page_dirty as set_page_dirty
from ._legacy import set_page_dirty_lock as set_page_dirty_lock
from ._migrate import migrate_folio as migrate_folio
from ._mm import MADV_HUGEPAGE as MADV_HUGEPAGE
from ._mm import MADV_NOHUGEPAGE as MADV_NOHUGEPAGE
from ._mm import MAP_ANONYMOUS as MAP_ANONYMOUS
from ._mm import MAP_FIXED as MAP_FIXED
from ._mm import MAP_HUGE_1GB as MAP_HUGE_1GB
from ._mm import MAP_HUGE_2MB as MAP_HUGE_2MB
from ._mm import MAP_HUGETLB as MAP_HUGETLB
from ._mm import MAP_PRIVATE as MAP_PRIVATE
from ._mm import MAP_SHARED as MAP_SHARED
from ._mm import MM as MM
from ._mm import PROT_EXEC as PROT_EXEC
from ._mm import PROT_NONE as PROT_NONE
from ._mm import PROT_READ as PROT_READ
from ._mm import PROT_WRITE as PROT_WRITE
from ._mm import TASK_SIZE as TASK_SIZE
from ._mm import VM as VM
from ._mm import VMA as VMA
from ._page import GUP_PIN_COUNTING_BIAS as GUP_PIN_COUNTING_BIAS
from ._page import PAGE_SIZE as PAGE_SIZE
from ._page import PG as PG
from ._page import PMD_SIZE as PMD_SIZE
from ._page import PUD_SIZE as PUD_SIZE
from ._page import ZERO_FOLIO as ZERO_FOLIO
from ._page import Folio as Folio
from ._page import Page as Page
from ._page import VmStat as VmStat
from ._page import Zone as Zone
from ._page import alloc_folio as alloc_folio
from ._page import alloc_zone as alloc_zone
from ._page import vmstat as vmstat
from ._debug import debug_pins_enabled as debug_pins_enabled
from ._debug import set_debug_pins as set_debug_pins
from ._pin import PinnedPage as PinnedPage
from ._pin import PinnedPages as PinnedPages
from ._pin import PinRecord as PinRecord
from ._pin import VaddrPin as VaddrPin
from ._pin import folio_maybe_dma_pinned as folio_maybe_dma_pinned
from ._pin import page_maybe_dma_pinned as page_maybe_dma_pinned
from ._pin import pin_ledger as pin_ledger
from ._pin import unpin_user_page as unpin_user_page
from ._pin import unpin_user_pages as unpin_user_pages
from ._pin import unpin_user_pages_dirty_lock as unpin_user_pages_dirty_lock
from ._pin import vaddr_pin_pages as vaddr_pin_pages
from ._pin import vaddr_unpin_pages_dirty_lock as vaddr_unpin_pages_dirty_lock
from ._sg import ScatterList as ScatterList
from ._sg import SgTable as SgTable
from ._sg import for_each_sg as for_each_sg
from ._sg import sg_alloc_table as sg_alloc_table
from ._sg import sg_alloc_table_from_pages as sg_alloc_table_from_pages
from ._sg import sg_alloc_table_from_bvec as sg_alloc_table_from_bvec
from ._sg import sg_free_table as sg_free_table
from ._sg import sg_page as sg_page
from ._sg import sg_set_page as sg_set_page
from ._task import current_mm as current_mm
from ._task import kthread_use_mm as kthread_use_mm
from ._track import ExactCounter as ExactCounter
from ._track import LookupTree as LookupTree
from ._track import PageFlag as PageFlag
from ._track import PinTracking as PinTracking
from ._track import RefcountBias as RefcountBias
from ._track import use_tracking as use_tracking
from ._writeback import reclaim as reclaim
from ._writeback import sync_filesystem as sync_filesystem
from ._writeback import writeback as writeback
