"""The GUP engine: the one page-table walk behind every entry point.

``__get_user_pages`` validates flags as ``is_valid_gup_args`` does, walks the
VMAs, checks their permissions, faults pages in, and grabs each folio once for
all of its pages in the range (a plain reference for FOLL_GET, a pin through
the current tracking strategy for FOLL_PIN). ``__gup_longterm_locked`` adds the
FOLL_LONGTERM rules. GUP-fast (``gup_fast_fallback``) is the same walk told
never to fault: it stops where the slow path would have work to do, and the
slow path takes the rest. It returns what it got, as ``FolioRuns`` (and, for
callers that want them, a ``Page`` per base page), plus the error that stopped
it, so each caller states its own partial-result contract.
"""

from __future__ import annotations

import enum
import errno
from collections.abc import Callable
from typing import Final, cast

from .errors import KernelError, err
from .filemap import AddressSpace
from .fs import Shmem
from .gup_cost import PAGE_POINTER_BYTES, GupCost, counting
from .memory import handle_mm_fault
from .migrate import migrate_folio
from .mm_types import TASK_SIZE, VM, VMA, MMStruct
from .pgtable import PMD_SHIFT, PTRS_PER_PTE, PmdEntry, PteTable, pmd_end, pte_index
from .page_alloc import (
    HPAGE_PMD_ORDER, PAGE_SHIFT, PAGE_SIZE, PG, PMD_SIZE, ZERO_FOLIO, ZONES_MASK, Folio, Page, Zone, folios_put_refs,
    int_bit_operators, page_flags, vmstat,
)  # fmt: skip
from .pin_tracking import tracking, try_get_folios

__all__ = [
    "FOLL", "FOLL_WRITE", "FOLL_FORCE", "FOLL_LONGTERM", "FOLL_GET", "FOLL_PIN",
    "FOLL_FAST_ONLY", "is_valid_gup_args", "check_range", "get_user_pages_locked", "gup_fast_fallback",
    "gup_put_pages",
    "FolioRuns", "grab_folios", "put_folios", "grab_folio", "put_folio_refs",
]  # fmt: skip


@int_bit_operators
class FOLL(enum.IntFlag):
    """``gup_flags``. GET, PIN and FAST_ONLY are internal: set by the entry
    point."""

    WRITE = 0x01
    GET = 0x04
    FORCE = 0x10
    LONGTERM = 0x400
    PIN = 0x20000
    FAST_ONLY = 0x100000


FOLL_WRITE: Final = FOLL.WRITE
FOLL_FORCE: Final = FOLL.FORCE
FOLL_LONGTERM: Final = FOLL.LONGTERM
FOLL_GET: Final = FOLL.GET
FOLL_PIN: Final = FOLL.PIN
FOLL_FAST_ONLY: Final = FOLL.FAST_ONLY
_CALLER_FLAGS: Final = FOLL.WRITE | FOLL.FORCE | FOLL.LONGTERM


def is_valid_gup_args(gup_flags: int, to_set: FOLL) -> FOLL:
    """The flags a caller may pass, plus *to_set* (FOLL_GET or FOLL_PIN, and
    FOLL_FAST_ONLY), as ``is_valid_gup_args()`` allows them: FOLL_PIN and
    FOLL_FAST_ONLY are GUP's own; FOLL_GET is accepted where GUP sets it
    anyway (it never goes with FOLL_PIN)."""
    if gup_flags & (FOLL.PIN | FOLL.FAST_ONLY):
        raise err(errno.EINVAL, "FOLL_PIN (and FOLL_FAST_ONLY) are set by GUP itself, never by callers: "
                                "use vaddr_pin_pages() to pin")  # fmt: skip
    if gup_flags & ~(_CALLER_FLAGS | FOLL.GET):
        raise err(errno.EINVAL, f"unknown gup_flags {gup_flags & ~(_CALLER_FLAGS | FOLL.GET):#x}")
    flags = FOLL(gup_flags | to_set)
    if flags & FOLL.PIN and flags & FOLL.GET:
        raise err(errno.EINVAL, "FOLL_GET and FOLL_PIN are mutually exclusive: a pin is not a plain reference")
    if flags & FOLL.LONGTERM and not flags & FOLL.PIN:
        raise err(errno.EINVAL, "FOLL_LONGTERM requires FOLL_PIN: use vaddr_pin_pages()")
    return flags


def check_range(start: int, nr_pages: int) -> int:
    """Validate ``[start, start + nr_pages pages)``; returns its end."""
    if nr_pages <= 0:
        raise err(errno.EINVAL, f"nr_pages must be positive, got {nr_pages}")
    if start < 0 or start % PAGE_SIZE:
        raise err(errno.EINVAL, f"start {start:#x} is not a page-aligned user address")
    end = start + (nr_pages << PAGE_SHIFT)
    if end >= 1 << 64:
        raise err(errno.EOVERFLOW, "range wraps past the top of the address space")
    if end > TASK_SIZE:
        raise err(errno.EFAULT, "range extends beyond TASK_SIZE")
    return end


def check_vma_flags(vma: VMA, flags: FOLL) -> None:
    """May GUP take pages from *vma* with *flags*?"""
    if vma.vm_flags & (VM.IO | VM.PFNMAP):
        raise err(errno.EFAULT, "VM_IO/VM_PFNMAP mappings have no struct pages to grab")
    if flags & FOLL.WRITE:
        if not vma.vm_flags & VM.WRITE and not (flags & FOLL.FORCE and not vma.is_shared):
            raise err(errno.EFAULT, "FOLL_WRITE needs a writable mapping (FOLL_FORCE only breaks COW)")
    elif not vma.vm_flags & VM.READ and not flags & FOLL.FORCE:
        raise err(errno.EFAULT, "the mapping is not readable")
    if flags & FOLL.LONGTERM and vma.vm_file is not None:
        fs = vma.vm_file.inode.fs
        if fs.dax and not vma.vm_file.layout_lease:
            raise err(errno.EOPNOTSUPP, "FOLL_LONGTERM is refused on fsdax mappings "
                                        "(unless the file holds an F_LAYOUT lease)")  # fmt: skip
        if flags & FOLL.WRITE and vma.is_shared and fs.dirty_tracking:
            raise err(errno.EFAULT, f"writable FOLL_LONGTERM pin of a shared {fs.name} mapping: "
                                    "the filesystem tracks dirty pages")  # fmt: skip


class FolioRuns:
    """Runs of pages taken together, in address order: ``nr[i]`` physically
    contiguous pages of ``folios[i]`` from its page ``first[i]``. The engine
    grabs and releases each run with one atomic update."""

    __slots__ = ("folios", "first", "nr")

    def __init__(self, folios: list[Folio] | None = None, first: list[int] | None = None,
                 nr: list[int] | None = None) -> None:  # fmt: skip
        self.folios: list[Folio] = folios or []
        self.first: list[int] = first or []
        self.nr: list[int] = nr or []

    def __len__(self) -> int:
        return len(self.folios)

    def clear(self) -> None:
        self.folios.clear()
        self.first.clear()
        self.nr.clear()

    def extend(self, other: FolioRuns, count: int) -> None:
        """Append the first *count* runs of *other* (all of them without a copy)."""
        whole = count >= len(other.folios)
        self.folios += other.folios if whole else other.folios[:count]
        self.first += other.first if whole else other.first[:count]
        self.nr += other.nr if whole else other.nr[:count]


def grab_folios(folios: list[Folio], refs: list[int], flags: FOLL) -> int:
    """``try_grab_folio()`` on each folio in turn: *refs[i]* pages of
    ``folios[i]`` in one atomic update. Returns how many folios were grabbed
    before a refusal; the rest are untouched. The zero page is never really
    grabbed."""
    if ZERO_FOLIO in folios:
        i = folios.index(ZERO_FOLIO)
        done = grab_folios(folios[:i], refs[:i], flags)
        return done if done < i else i + 1 + grab_folios(folios[i + 1 :], refs[i + 1 :], flags)
    if flags & FOLL_PIN:
        done = tracking.strategy.try_grab_pins(folios, refs)
        vmstat.nr_foll_pin_acquired += sum(refs[:done])
    else:
        done = try_get_folios(folios, refs)
    vmstat.nr_refcount_ops += done
    cost = counting.active
    if cost is not None:
        cost.atomics += done
        cost.touch_folios(folios[: done + 1])  # a refused folio's count was read too
    return done


def put_folios(folios: list[Folio], refs: list[int], flags: FOLL, unwind: bool = False) -> None:
    """``gup_put_folio()`` on each folio: release what ``grab_folios`` took.
    With *unwind*, back out the grabs of a call that is failing, vmstat
    included, as if they had never been taken."""
    if ZERO_FOLIO in folios:
        real = [i for i, folio in enumerate(folios) if folio is not ZERO_FOLIO]
        folios, refs = [folios[i] for i in real], [refs[i] for i in real]
    if flags & FOLL_PIN:
        tracking.strategy.put_pins(folios, refs)
        if unwind:
            vmstat.nr_foll_pin_acquired -= sum(refs)
        else:
            vmstat.nr_foll_pin_released += sum(refs)
    else:
        folios_put_refs(folios, refs)
    vmstat.nr_refcount_ops += -len(folios) if unwind else len(folios)
    cost = counting.active
    if cost is not None:  # an unwind's releases are work done: counted, not backed out
        cost.atomics += len(folios)
        cost.touch_folios(folios)


def grab_folio(folio: Folio, refs: int, flags: FOLL) -> bool:
    """``try_grab_folio()``: one atomic update for *refs* pages of *folio*."""
    return grab_folios([folio], [refs], flags) == 1


def put_folio_refs(folio: Folio, refs: int, flags: FOLL, unwind: bool = False) -> None:
    """``gup_put_folio()``: release what ``grab_folio`` took."""
    put_folios([folio], [refs], flags, unwind)


def gup_put_pages(pages: list[Page], flags: FOLL, unwind: bool = False) -> None:
    """Release *pages* grabbed with *flags*, one update per run of a folio."""
    folios: list[Folio] = []
    refs: list[int] = []
    prev: Folio | None = None
    for page in pages:
        folio = page.folio
        if folio is prev:
            refs[-1] += 1
        else:
            folios.append(folio)
            refs.append(1)
            prev = folio
    put_folios(folios, refs, flags, unwind)


def _pte_runs(ptes: PteTable, mask: int, bad: int) -> FolioRuns:
    """The folio runs of a slice of a PTE table, up to the first page that is
    absent (or swapped out) or needs a fault (``page_flags(page) & mask ==
    bad``) first."""
    try:
        folios: list[Folio] = [page.folio for page in ptes]  # type: ignore[union-attr]
    except AttributeError:  # an empty or swap PTE: the walk below stops there
        folios = []
    if folios and not any([folio.order or folio.flags & mask == bad for folio in folios]):
        # The common case, at list-comprehension speed: small folios, one run each.
        return FolioRuns(folios, [0] * len(folios), [1] * len(folios))
    runs = FolioRuns()
    add_folio, add_first, add_nr = runs.folios.append, runs.first.append, runs.nr.append
    nr = runs.nr
    prev: Folio | None = None
    nxt = 0
    for page in ptes:
        if type(page) is not Page:
            break
        folio = page.folio
        if page_flags(page) & mask == bad:
            break
        if folio is prev and page.index == nxt:
            nr[-1] += 1
            nxt += 1
            continue
        prev = folio
        nxt = page.index
        add_folio(folio)
        add_first(nxt)
        add_nr(1)
        nxt += 1
    return runs


def _pmd_folios(pmd: Callable[[int], PmdEntry], addr: int, stop: int, mask: int, bad: int, huge: FolioRuns) -> int:
    """The PMD-sized folios mapped by the consecutive PMDs from *addr*
    (PMD-aligned, at least a PMD before *stop*, the first of them such a
    folio), up to one that needs a fault first: added to *huge* as one run
    each, in one step for the lot; returns how many."""
    i0 = addr >> PMD_SHIFT
    entries = [pmd(i) for i in range(i0, i0 + ((stop - addr) >> PMD_SHIFT))]
    folios = [e for e in entries if type(e) is Folio and e.order == HPAGE_PMD_ORDER and e.flags & mask != bad]
    k = len(folios)
    if k < len(entries):  # stop at the first entry that is not one
        k = next((i for i, (e, f) in enumerate(zip(entries, folios)) if e is not f), len(folios))
        del folios[k:]
    huge.folios += folios
    huge.first += [0] * k
    huge.nr += [PTRS_PER_PTE] * k
    return k


class _FastStop(Exception):
    """GUP-fast reached a page only the slow path can take."""


def _fast_refuses(folio: Folio, vma: VMA, flags: FOLL) -> bool:
    """What GUP-fast leaves to the slow path besides a fault: the zero page,
    whose PTE is special (``pte_special()``), and for a FOLL_LONGTERM pin a
    folio outside ZONE_NORMAL (``try_grab_folio_fast()``), fsdax memory
    (``pte_devmap()``), a page-cache folio other than shmem or hugetlb for a
    write pin (``gup_fast_folio_allowed()``), and for a read pin a
    page-cache folio its PTE does not map writable (``gup_must_unshare()``
    with no VMA)."""
    if folio is ZERO_FOLIO:
        return True
    if not flags & FOLL.LONGTERM:
        return False
    mapping = folio.mapping
    if folio.zone is not Zone.NORMAL:
        return True
    if not isinstance(mapping, AddressSpace):
        return False
    fs = mapping.host.fs
    if fs.dax:
        return True
    if flags & FOLL.WRITE:
        return not (folio.flags & PG.hugetlb or isinstance(fs, Shmem))
    mask, bad = vma.fault_condition(True, False)
    return not (vma.vm_flags & VM.WRITE and folio.flags & mask != bad)


def __get_user_pages(mm: MMStruct, start: int, end: int, flags: FOLL, pages: list[Page] | None,
                     fast: bool = False) -> tuple[FolioRuns, KernelError | None]:  # fmt: skip
    """Grab ``[start, end)``, one atomic update per folio run. Returns the
    runs grabbed, in order, and the error that stopped the walk early (None
    when complete). *pages*, if given, gets the ``Page`` of every base page
    grabbed; without it a huge folio never becomes ``Page`` objects. *fast*:
    GUP-fast, which never faults and stops, with no error, at the first page
    it cannot take as mapped (no permission without FOLL_FORCE, a fault
    needed, ``_fast_refuses``)."""
    runs = FolioRuns()
    huge = FolioRuns()  # PMD-mapped runs walked, grabbed together before anything else
    cost = counting.active  # read once: counting is switched on between calls, not during one
    if cost is not None and not fast:
        cost.locks += 1  # mmap_read_lock_killable(), once per slow-path walk
    add_folio, add_first, add_nr = huge.folios.append, huge.first.append, huge.nr.append

    def take(found: FolioRuns, ptes: PteTable | None) -> int:
        """Grab *found*, record what was grabbed and return how many pages;
        ENOMEM at a refusal. *ptes*: the PTE slice *found* came from."""
        done = grab_folios(found.folios, found.nr, flags)
        runs.extend(found, done)
        taken = sum(found.nr) if done == len(found) else sum(found.nr[:done])
        if pages is not None and ptes is not None:
            pages.extend(ptes[:taken])  # type: ignore[arg-type]
        elif pages is not None:
            for folio, first, nr in zip(found.folios[:done], found.first, found.nr):
                pages.extend([Page(folio, i) for i in range(first, first + nr)])
        if cost is not None:
            _count_batch(cost, found, done, taken, ptes, pages is not None, fast)
        if done < len(found):
            raise err(errno.ENOMEM, f"_refcount of {found.folios[done]!r} reads <= 0: it has overflowed")
        return taken

    def fault(vma: VMA, addr: int, locked: bool) -> None:
        """Nothing taken at *addr*: fault it in, or end GUP-fast there.
        *locked*: the slow path read the leaf there under its page-table
        lock (a PTE, a huge PMD; not an empty PMD)."""
        if cost is not None:
            _count_leaves(cost, 1, locked and not fast)
        if fast:
            raise _FastStop
        handle_mm_fault(mm, vma, addr, write, unshare)

    write = bool(flags & FOLL.WRITE)
    unshare = bool(flags & FOLL.PIN) and not write
    longterm = bool(flags & FOLL.LONGTERM)
    end, error = _check_vmas(mm, start, end, flags & ~FOLL.FORCE if fast else flags)
    if fast:
        error = None  # the slow path finds it again and says why
    pmd = mm.pgtable.pmds().get  # pmd_offset(), one dict lookup: this loop runs once per huge folio
    addr = start
    try:
        while addr < end:
            vma = mm.find_vma(addr)
            assert vma is not None
            mask, bad = vma.fault_condition(write, unshare, longterm)
            stop = min(end, vma.vm_end)
            while addr < stop:
                entry = pmd(addr >> PMD_SHIFT)
                if type(entry) is Folio and entry.flags & mask != bad:
                    if fast and _fast_refuses(entry, vma, flags):
                        if huge:
                            take(huge, None)
                        fault(vma, addr, False)  # GUP-fast gives up at this PMD
                    if (entry.order == HPAGE_PMD_ORDER and not addr & (PMD_SIZE - 1) and stop - addr >= PMD_SIZE
                            and not (fast and longterm)):  # fmt: skip
                        k = _pmd_folios(pmd, addr, stop, mask, bad, huge)
                        addr += k << PMD_SHIFT
                        continue
                    size = PAGE_SIZE << entry.order
                    base = addr & -size
                    next_addr = base + size if base + size < stop else stop
                    add_folio(entry)
                    add_first((addr - base) >> PAGE_SHIFT)
                    add_nr((next_addr - addr) >> PAGE_SHIFT)
                    addr = next_addr
                    continue
                if huge:
                    take(huge, None)
                    huge.clear()
                if not isinstance(entry, list):  # nothing mapped, or a huge folio to fault first
                    fault(vma, addr, entry is not None)
                    continue
                i0 = pte_index(addr)
                chunk = entry[i0 : i0 + ((min(stop, pmd_end(addr)) - addr) >> PAGE_SHIFT)]
                found = _pte_runs(chunk, mask, bad)
                if fast:
                    refused = next((i for i, f in enumerate(found.folios) if _fast_refuses(f, vma, flags)), None)
                    if refused is not None:
                        take(FolioRuns(found.folios[:refused], found.first[:refused], found.nr[:refused]), chunk)
                        fault(vma, addr, False)  # GUP-fast gives up at the refused PTE
                taken = take(found, chunk)
                if not taken:
                    fault(vma, addr, True)
                addr += taken << PAGE_SHIFT
        if huge:
            take(huge, None)
    except _FastStop:
        return runs, None
    except KernelError as e:
        return runs, e
    except BaseException:  # any other failure: nothing grabbed stays grabbed
        put_folios(runs.folios, runs.nr, flags, unwind=True)
        raise
    return runs, error


def _count_leaves(cost: GupCost, n: int, locked: bool) -> None:
    """*n* leaf entries read, each under its page-table lock if *locked*."""
    cost.ptes += n
    if locked:
        cost.locks += n


def _count_batch(cost: GupCost, found: FolioRuns, done: int, taken: int, ptes: PteTable | None,
                 pages_out: bool, fast: bool) -> None:  # fmt: skip
    """What a batch of the walk cost: *found* read from the PTE slice *ptes*
    (None: huge leaves, one run each), *done* runs and *taken* pages grabbed.
    The leaf of a refused grab was read and its page touched too. The slow
    path locks each leaf it reads; pages[] gets an entry per page taken."""
    refused = done < len(found)
    if ptes is not None:
        _count_leaves(cost, taken + refused, not fast)
        cost.touch_pages(cast("list[Page]", ptes[: taken + refused]))  # _pte_runs() took only Pages
    else:
        _count_leaves(cost, done + refused, not fast)
        cost.touch_pfns([folio.pfn for folio in found.folios[: done + refused]])  # pmd_page(): the head
    if pages_out:
        cost.array(taken, PAGE_POINTER_BYTES)


def _check_vmas(mm: MMStruct, start: int, end: int, flags: FOLL) -> tuple[int, KernelError | None]:
    """Check every VMA of the range before any page is touched. Returns the
    end of the usable prefix and the error found there (None: all usable)."""
    addr = start
    while addr < end:
        vma = mm.find_vma(addr)
        try:
            if vma is None:
                raise err(errno.EFAULT, f"no VMA maps {addr:#x}")
            check_vma_flags(vma, flags)
            if vma.file_end() < min(end, vma.vm_end):
                addr = max(addr, vma.file_end())
                raise err(errno.EFAULT, f"SIGBUS: {addr:#x} is beyond the end of the file")
        except KernelError as e:
            return addr, e
        addr = vma.vm_end
    return end, None


def _gup_start(mm: MMStruct, start: int, nr_pages: int, gup_flags: int, to_set: FOLL) -> tuple[FOLL, int]:
    """What every entry point checks before it walks (raising with nothing
    grabbed): the flags, the range, the MM. Returns the flags and the end;
    a pin marks the MM as having pinned (MMF_HAS_PINNED)."""
    flags = is_valid_gup_args(gup_flags, to_set)
    end = check_range(start, nr_pages)
    mm.check_live()
    if flags & FOLL.PIN:
        mm.has_pinned = True
    return flags, end


def get_user_pages_locked(mm: MMStruct, start: int, nr_pages: int, gup_flags: int, to_set: FOLL,
                          pages: list[Page] | None = None) -> tuple[FolioRuns, KernelError | None, FOLL]:  # fmt: skip
    """Validate everything that can be validated up front (raising with
    nothing grabbed), then walk; FOLL_LONGTERM goes through
    ``__gup_longterm_locked``. *pages* is filled as ``__get_user_pages``
    fills it."""
    flags, end = _gup_start(mm, start, nr_pages, gup_flags, to_set)
    walk = __gup_longterm_locked if flags & FOLL.LONGTERM else __get_user_pages
    runs, error = walk(mm, start, end, flags, pages)
    return runs, error, flags


def gup_fast_fallback(mm: MMStruct, start: int, nr_pages: int, gup_flags: int, to_set: FOLL,
                      pages: list[Page] | None = None) -> tuple[FolioRuns, KernelError | None, FOLL]:  # fmt: skip
    """``gup_fast_fallback()``: GUP-fast from *start* (no mmap lock, no
    fault), then the slow path for the rest unless FOLL_FAST_ONLY. Returns
    what ``get_user_pages_locked`` does: the runs of both, in order, and the
    error that stopped the slow path; what GUP-fast took stays taken."""
    flags, end = _gup_start(mm, start, nr_pages, gup_flags, to_set)
    runs, _ = __get_user_pages(mm, start, end, flags, pages, fast=True)
    rest = start + (sum(runs.nr) << PAGE_SHIFT)
    if rest == end or flags & FOLL.FAST_ONLY:
        return runs, None, flags
    slow: list[Page] | None = None if pages is None else []
    walk = __gup_longterm_locked if flags & FOLL.LONGTERM else __get_user_pages
    try:
        more, error = walk(mm, rest, end, flags, slow)
    except BaseException:  # the slow path unwound its own grabs; these are GUP-fast's
        put_folios(runs.folios, runs.nr, flags, unwind=True)
        raise
    runs.extend(more, len(more))
    if pages is not None and slow is not None:
        pages += slow
    return runs, error, flags


_MIGRATE_RETRIES: Final = 3


def __gup_longterm_locked(mm: MMStruct, start: int, end: int, flags: FOLL, pages: list[Page] | None,
                          ) -> tuple[FolioRuns, KernelError | None]:  # fmt: skip
    """FOLL_LONGTERM: nothing left in ZONE_MOVABLE or CMA. With nothing there
    to migrate, what ``__get_user_pages`` pinned stands, a partial result
    and its error included (the caller's contract decides). Otherwise those
    pages are unpinned, migrated to ZONE_NORMAL, and the range pinned again;
    a failure then unpins everything."""
    for _ in range(_MIGRATE_RETRIES):
        runs, error = __get_user_pages(mm, start, end, flags, pages)
        movable = {id(f): f for f in runs.folios if f.flags & ZONES_MASK}  # zone bits set: not ZONE_NORMAL
        if not movable:
            return runs, error
        put_folios(runs.folios, runs.nr, flags, unwind=error is not None)
        if pages is not None:
            pages.clear()
        if error is not None:
            return FolioRuns(), error
        for folio in movable.values():
            try:
                migrate_folio(folio, Zone.NORMAL)
            except KernelError as e:
                return FolioRuns(), e
    return FolioRuns(), err(errno.ENOMEM, "FOLL_LONGTERM: pages kept landing in a movable zone")
