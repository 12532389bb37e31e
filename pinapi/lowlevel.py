"""The model's instruments: what tests, scenarios and the review use to look
inside, and what drivers never see. Not part of the contract.

vmstat and the pin ledger; the kernel cost counters (``count_gup_cost``);
pin-tracking strategies; filesystems, writeback, reclaim and migration;
folios, zones and the flag sets; the FOLL bits GUP keeps to itself
(FOLL_GET, FOLL_PIN); the debug pin counter.
"""

from ._mm.debug import debug_pins_enabled as debug_pins_enabled
from ._mm.debug import set_debug_pins as set_debug_pins
from ._mm.fs import Ext4 as Ext4
from ._mm.fs import F_LAYOUT as F_LAYOUT
from ._mm.fs import F_UNLCK as F_UNLCK
from ._mm.fs import FileSystem as FileSystem
from ._mm.fs import FsDax as FsDax
from ._mm.fs import FsWarning as FsWarning
from ._mm.fs import Hugetlbfs as Hugetlbfs
from ._mm.fs import Inode as Inode
from ._mm.fs import Shmem as Shmem
from ._mm.gup import FOLL as FOLL
from ._mm.gup import FOLL_FAST_ONLY as FOLL_FAST_ONLY
from ._mm.gup import FOLL_GET as FOLL_GET
from ._mm.gup import FOLL_PIN as FOLL_PIN
from ._mm.gup_cost import GupCost as GupCost
from ._mm.gup_cost import count_gup_cost as count_gup_cost
from ._mm.migrate import migrate_folio as migrate_folio
from ._mm.mm_types import VM as VM
from ._mm.page_alloc import GUP_PIN_COUNTING_BIAS as GUP_PIN_COUNTING_BIAS
from ._mm.page_alloc import PG as PG
from ._mm.page_alloc import VmStat as VmStat
from ._mm.page_alloc import ZERO_FOLIO as ZERO_FOLIO
from ._mm.page_alloc import Zone as Zone
from ._mm.page_alloc import alloc_folio as alloc_folio
from ._mm.page_alloc import alloc_zone as alloc_zone
from ._mm.page_alloc import page_anon_exclusive as page_anon_exclusive
from ._mm.page_alloc import vmstat as vmstat
from ._mm.page_writeback import sync_filesystem as sync_filesystem
from ._mm.page_writeback import writeback as writeback
from ._mm.pin_tracking import ExactCounter as ExactCounter
from ._mm.pin_tracking import LookupTree as LookupTree
from ._mm.pin_tracking import PageFlag as PageFlag
from ._mm.pin_tracking import PinTracking as PinTracking
from ._mm.pin_tracking import RefcountBias as RefcountBias
from ._mm.pin_tracking import use_tracking as use_tracking
from ._mm.swapfile import swap_info as swap_info
from ._mm.vmscan import reclaim as reclaim
from ._pin import PinRecord as PinRecord
from ._pin import pin_ledger as pin_ledger

__all__ = [
    "ExactCounter",
    "Ext4",
    "FOLL",
    "FOLL_FAST_ONLY",
    "FOLL_GET",
    "FOLL_PIN",
    "F_LAYOUT",
    "F_UNLCK",
    "FileSystem",
    "FsDax",
    "FsWarning",
    "GUP_PIN_COUNTING_BIAS",
    "GupCost",
    "Hugetlbfs",
    "Inode",
    "LookupTree",
    "PG",
    "PageFlag",
    "PinRecord",
    "PinTracking",
    "RefcountBias",
    "Shmem",
    "VM",
    "VmStat",
    "ZERO_FOLIO",
    "Zone",
    "alloc_folio",
    "alloc_zone",
    "count_gup_cost",
    "debug_pins_enabled",
    "migrate_folio",
    "page_anon_exclusive",
    "pin_ledger",
    "reclaim",
    "set_debug_pins",
    "swap_info",
    "sync_filesystem",
    "use_tracking",
    "vmstat",
    "writeback",
]
