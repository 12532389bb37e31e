"""The GUP engine: flags, accounting as the kernel counts, bad input."""

from __future__ import annotations

import errno
from collections.abc import Callable

import pytest

import pinapi
import pinapi._mm.gup
from pinapi import lowlevel
from helpers import state
from pinapi import (
    FOLL_FORCE, FOLL_LONGTERM, FOLL_WRITE, MADV_HUGEPAGE, MAP_ANONYMOUS, MAP_FIXED, MAP_HUGE_1GB, MAP_HUGETLB,
    MAP_PRIVATE, MM, PAGE_SIZE, PMD_SIZE, PROT_READ, PUD_SIZE, TASK_SIZE, Folio, KernelError,
    VaddrPin, get_user_pages_remote, put_page, unpin_user_pages, vaddr_pin_pages,
)  # fmt: skip
from pinapi.lowlevel import FOLL_GET, FOLL_PIN, GUP_PIN_COUNTING_BIAS, VM, ZERO_FOLIO
from pinapi._mm.page_alloc import REFCOUNT_MAX


def touched(mm: MM, pages: int, thp: bool = False) -> int:
    a = mm.mmap(pages * PAGE_SIZE)
    if thp:
        mm.madvise(a, pages * PAGE_SIZE, MADV_HUGEPAGE)
    mm.write(a, b"\1" * pages * PAGE_SIZE)
    return a


def folio_at(mm: MM, addr: int) -> Folio:
    page = mm.lookup(addr)
    assert page is not None
    return page.folio


# -- accounting --------------------------------------------------------------


def test_small_folio_pin_adds_the_bias(mm: MM, owner: VaddrPin) -> None:
    a = touched(mm, 2)
    before = lowlevel.vmstat.snapshot()
    pins = vaddr_pin_pages(a, 2, 0, owner)
    f = folio_at(mm, a)
    assert f.refcount() == 1 + GUP_PIN_COUNTING_BIAS and f.pincount() == 0
    after = lowlevel.vmstat.snapshot()
    assert after["nr_foll_pin_acquired"] - before["nr_foll_pin_acquired"] == 2
    assert after["nr_refcount_ops"] - before["nr_refcount_ops"] == 2
    unpin_user_pages(pins)
    assert f.refcount() == 1


def test_large_folio_pin_uses_pincount_once_per_folio(mm: MM, owner: VaddrPin) -> None:
    a = touched(mm, 1024, thp=True)
    f = folio_at(mm, a)
    assert f.order == 9
    before = lowlevel.vmstat.snapshot()
    pins = vaddr_pin_pages(a + PAGE_SIZE, 1000, FOLL_WRITE, owner)
    after = lowlevel.vmstat.snapshot()
    assert f.refcount() == 1 + 511 and f.pincount() == 511
    g = folio_at(mm, a + PMD_SIZE)
    assert g.refcount() == 1 + 489 and g.pincount() == 489
    assert after["nr_foll_pin_acquired"] - before["nr_foll_pin_acquired"] == 1000
    assert after["nr_refcount_ops"] - before["nr_refcount_ops"] == 2  # one per folio
    unpin_user_pages(pins)
    assert (f.refcount(), f.pincount(), g.pincount()) == (1, 0, 0)


def test_unpinning_a_huge_page_page_by_page_balances(mm: MM, owner: VaddrPin) -> None:
    a = touched(mm, 512, thp=True)
    before = lowlevel.vmstat.snapshot()
    pins = vaddr_pin_pages(a, 512, 0, owner)
    for p in pins:
        pinapi.unpin_user_page(p)
    after = lowlevel.vmstat.snapshot()
    assert after["nr_foll_pin_released"] - before["nr_foll_pin_released"] == 512
    assert folio_at(mm, a).pincount() == 0


def test_plain_reference_adds_one(mm: MM) -> None:
    a = touched(mm, 1)
    pages = get_user_pages_remote(mm, a, 1, 0)
    assert pages[0].folio.refcount() == 2
    assert not pinapi.page_maybe_dma_pinned(pages[0])
    put_page(pages[0])
    assert pages[0].folio.refcount() == 1


def test_maybe_dma_pinned_false_positive_at_1024_plain_refs(mm: MM) -> None:
    a = touched(mm, 1)
    pages = get_user_pages_remote(mm, a, 1, 0)
    for _ in range(GUP_PIN_COUNTING_BIAS - 2):
        pinapi.get_page(pages[0])
    assert pages[0].folio.refcount() == GUP_PIN_COUNTING_BIAS
    assert pinapi.page_maybe_dma_pinned(pages[0])  # nobody pinned it
    pinapi.release_pages([pages[0]] * (GUP_PIN_COUNTING_BIAS - 1))
    assert not pinapi.page_maybe_dma_pinned(pages[0])


def test_large_folio_maybe_dma_pinned_is_exact(mm: MM, owner: VaddrPin) -> None:
    a = touched(mm, 512, thp=True)
    pages = get_user_pages_remote(mm, a, 512, 0)
    f = pages[0].folio
    assert f.refcount() == 513 and not pinapi.folio_maybe_dma_pinned(f)
    pinapi.release_pages(pages)
    with vaddr_pin_pages(a, 1, 0, owner):
        assert pinapi.folio_maybe_dma_pinned(f)


def test_read_pin_of_untouched_memory_pretends_on_the_zero_page(mm: MM, owner: VaddrPin) -> None:
    a = mm.mmap(4 * PAGE_SIZE)
    before = (ZERO_FOLIO.refcount(), lowlevel.vmstat.snapshot())
    with vaddr_pin_pages(a, 4, 0, owner) as pins:
        assert ZERO_FOLIO.refcount() == before[0]
        assert lowlevel.vmstat.snapshot()["nr_foll_pin_acquired"] == before[1]["nr_foll_pin_acquired"]
        assert pins[0].read(0, 4) == bytes(4)
        assert len(lowlevel.pin_ledger()) == 1


def test_write_pin_breaks_the_zero_page(mm: MM, owner: VaddrPin) -> None:
    a = mm.mmap(PAGE_SIZE)
    mm.read(a, 1)
    with vaddr_pin_pages(a, 1, FOLL_WRITE, owner) as pins:
        assert folio_at(mm, a) is not ZERO_FOLIO
        pins[0].write(0, b"dma")
    assert mm.read(a, 3) == b"dma"


def test_force_write_to_read_only_private_breaks_cow(mm: MM) -> None:
    a = touched(mm, 1)
    mm.mprotect(a, PAGE_SIZE, PROT_READ)
    with pytest.raises(KernelError):
        get_user_pages_remote(mm, a, 1, FOLL_WRITE)
    pages = get_user_pages_remote(mm, a, 1, FOLL_WRITE | FOLL_FORCE)
    put_page(pages[0])


def test_hugetlb_1g_is_one_grab(mm: MM, owner: VaddrPin) -> None:
    a = mm.mmap(PUD_SIZE, flags=MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_1GB)
    before = lowlevel.vmstat.snapshot()
    with vaddr_pin_pages(a + PMD_SIZE, 1024, FOLL_WRITE, owner):
        f = folio_at(mm, a)
        assert f.order == 18 and f.pincount() == 1024
        assert lowlevel.vmstat.snapshot()["nr_refcount_ops"] - before["nr_refcount_ops"] == 1


# -- legacy partial results ----------------------------------------------------


def test_get_user_pages_returns_a_short_result_the_caller_owns(mm: MM) -> None:
    a = touched(mm, 4)
    mm.munmap(a + 2 * PAGE_SIZE, 2 * PAGE_SIZE)
    pages = get_user_pages_remote(mm, a, 4, 0)
    assert len(pages) == 2
    pinapi.release_pages(pages)
    assert folio_at(mm, a).refcount() == 1


def test_get_user_pages_current_mm_is_deprecated(mm: MM) -> None:
    a = touched(mm, 1)
    with pytest.deprecated_call(match="vaddr_pin_pages"):
        pages = pinapi.get_user_pages(a, 1, 0)
    put_page(pages[0])


def test_get_user_pages_without_current_mm() -> None:
    with pytest.deprecated_call(), pytest.raises(KernelError) as e:
        pinapi.get_user_pages(0x1000, 1, 0)
    assert e.value.errno == errno.ESRCH


def test_follow_page_never_faults(mm: MM) -> None:
    a = mm.mmap(2 * PAGE_SIZE)
    mm.write(a, b"x")
    vma = mm.find_vma(a)
    assert vma is not None
    assert pinapi.follow_page(vma, a + PAGE_SIZE) is None
    page = pinapi.follow_page(vma, a)
    assert page is not None and page.folio.refcount() == 2
    put_page(page)


# -- bad input: a clear error and nothing left behind -----------------------------


def _pin(mm: MM, start: int, nr: int, flags: int) -> Callable[[], object]:
    return lambda: vaddr_pin_pages(start, nr, flags, VaddrPin(mm=mm))


BAD = [
    ("nr_pages zero", lambda a: (a, 0, 0), errno.EINVAL),
    ("nr_pages negative", lambda a: (a, -3, 0), errno.EINVAL),
    ("unaligned start", lambda a: (a + 1, 1, 0), errno.EINVAL),
    ("negative start", lambda a: (-PAGE_SIZE, 1, 0), errno.EINVAL),
    ("beyond TASK_SIZE", lambda a: (TASK_SIZE, 1, 0), errno.EFAULT),
    ("wraps the address space", lambda a: (a, 1 << 52, 0), errno.EOVERFLOW),
    ("hole after mapped pages", lambda a: (a, 9, 0), errno.EFAULT),
    ("write to read-only", lambda a: (a + 8 * PAGE_SIZE - PAGE_SIZE, 1, FOLL_WRITE), errno.EFAULT),
    ("FOLL_PIN from a caller", lambda a: (a, 1, FOLL_PIN), errno.EINVAL),
    ("FOLL_GET from a caller", lambda a: (a, 1, FOLL_GET), errno.EINVAL),
    ("FOLL_PIN with FOLL_GET", lambda a: (a, 1, FOLL_PIN | FOLL_GET), errno.EINVAL),
    ("unknown flag", lambda a: (a, 1, 0x8000), errno.EINVAL),
]


@pytest.mark.parametrize(("rule", "args", "code"), BAD, ids=[b[0] for b in BAD])
def test_bad_pin_changes_nothing(mm: MM, rule: str, args: Callable[[int], tuple[int, int, int]], code: int) -> None:
    a = touched(mm, 8)
    mm.mprotect(a + 7 * PAGE_SIZE, PAGE_SIZE, PROT_READ)
    before = state(mm)
    with pytest.raises(KernelError) as e:
        vaddr_pin_pages(*args(a), VaddrPin(mm=mm))
    assert e.value.errno == code
    assert state(mm) == before


def test_foll_get_from_a_caller_is_what_get_user_pages_sets_anyway(mm: MM) -> None:
    """linux 6.12 is_valid_gup_args(): FOLL_GET is not an internal flag, so a
    get_user_pages*() caller may pass it; it only conflicts with FOLL_PIN."""
    a = touched(mm, 2)
    before = state(mm)
    pages = get_user_pages_remote(mm, a, 2, FOLL_GET | FOLL_WRITE)
    assert [p.folio for p in pages] == [folio_at(mm, a), folio_at(mm, a + PAGE_SIZE)]
    assert [p.folio.refcount() for p in pages] == [2, 2]
    for page in pages:
        put_page(page)
    assert state(mm) == before


def test_hole_in_the_middle_unpins_what_was_taken(mm: MM, owner: VaddrPin) -> None:
    a = touched(mm, 6)
    mm.munmap(a + 3 * PAGE_SIZE, PAGE_SIZE)
    before = state(mm)
    with pytest.raises(KernelError, match="no VMA") as e:
        vaddr_pin_pages(a, 6, FOLL_WRITE, owner)
    assert e.value.errno == errno.EFAULT and state(mm) == before


@pytest.mark.parametrize("vm_flags", [VM.IO, VM.PFNMAP, VM.IO | VM.PFNMAP])
def test_pfnmap_and_io_are_refused(mm: MM, owner: VaddrPin, vm_flags: int) -> None:
    a = mm.mmap(PAGE_SIZE, vm_flags=vm_flags)
    before = state(mm)
    with pytest.raises(KernelError, match="VM_IO/VM_PFNMAP") as e:
        vaddr_pin_pages(a, 1, 0, owner)
    assert e.value.errno == errno.EFAULT and state(mm) == before
    with pytest.raises(KernelError):
        get_user_pages_remote(mm, a, 1, 0)


def test_longterm_requires_a_pin(mm: MM) -> None:
    a = touched(mm, 1)
    before = state(mm)
    with pytest.raises(KernelError, match="FOLL_LONGTERM requires FOLL_PIN") as e:
        get_user_pages_remote(mm, a, 1, FOLL_LONGTERM)
    assert e.value.errno == errno.EINVAL and state(mm) == before


def test_vaddr_pin_needs_an_owner(mm: MM) -> None:
    a = touched(mm, 1)
    before = state(mm)
    with pytest.raises(KernelError, match="names no owner") as e:
        vaddr_pin_pages(a, 1, 0, VaddrPin())
    assert e.value.errno == errno.EINVAL and state(mm) == before


def test_a_grab_is_refused_once_the_refcount_reads_negative(mm: MM, owner: VaddrPin) -> None:
    """try_grab_folio() refuses a grab only once folio_ref_count() is <= 0
    (CVE-2019-11487): the last pin it takes carries a small folio's
    _refcount past INT_MAX, where it reads negative and
    folio_maybe_dma_pinned() (unsigned) still reads pinned. From _refcount
    2049 that is 2,097,150 pins; from 1, 2^21."""
    a = touched(mm, 2)
    f = folio_at(mm, a)
    held = (2_097_150 - 1) * GUP_PIN_COUNTING_BIAS + 2048
    f._refcount += held  # _refcount 2049 plus 2,097,149 pins
    assert 0 < f.refcount() <= REFCOUNT_MAX
    try:
        last = vaddr_pin_pages(a, 1, 0, owner)  # the 2,097,150th
        assert f.refcount() < 0 and pinapi.folio_maybe_dma_pinned(f)
        before = state(mm)
        with pytest.raises(KernelError, match="overflow") as e:
            vaddr_pin_pages(a, 1, 0, owner)
        assert e.value.errno == errno.ENOMEM and state(mm) == before
        with pytest.raises(KernelError, match="overflow"):
            get_user_pages_remote(mm, a, 1, 0)
        unpin_user_pages(last)
    finally:
        f._refcount -= held
    assert f.refcount() == 1


def test_a_1gb_folio_takes_8192_grabs_of_all_its_pages(mm: MM, owner: VaddrPin) -> None:
    a = mm.mmap(PUD_SIZE, flags=MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_1GB)
    mm.write(a, b"x")
    f = folio_at(mm, a)
    nr = PUD_SIZE // PAGE_SIZE
    held = 8191 * nr
    f._refcount += held
    f._pincount += held
    try:
        last = vaddr_pin_pages(a, nr, 0, owner)  # the 8,192nd
        assert f.refcount() < 0
        with pytest.raises(KernelError, match="overflow"):
            vaddr_pin_pages(a, 1, 0, owner)
        unpin_user_pages(last)
    finally:
        f._refcount -= held
        f._pincount -= held


def test_refused_second_page_releases_the_first(mm: MM, owner: VaddrPin) -> None:
    a = touched(mm, 2)
    g = folio_at(mm, a + PAGE_SIZE)
    g._refcount = REFCOUNT_MAX + 1  # reads as -2^31
    try:
        before = state(mm)
        with pytest.raises(KernelError) as e:
            vaddr_pin_pages(a, 2, 0, owner)
        assert e.value.errno == errno.ENOMEM and state(mm) == before
    finally:
        g._refcount = 1


def test_legacy_plain_reference_overflow_is_refused(mm: MM) -> None:
    a = touched(mm, 1)
    f = folio_at(mm, a)
    f._refcount = REFCOUNT_MAX
    try:
        put_page(get_user_pages_remote(mm, a, 1, 0)[0])  # from INT_MAX: taken, reads negative meanwhile
        f._refcount = REFCOUNT_MAX + 1
        with pytest.raises(KernelError) as e:
            get_user_pages_remote(mm, a, 1, 0)
        assert e.value.errno == errno.ENOMEM and f.refcount() == -(2**31)
    finally:
        f._refcount = 1


def test_exited_mm_is_esrch(owner: VaddrPin, mm: MM) -> None:
    a = touched(mm, 1)
    mm.exit()
    with pytest.raises(KernelError) as e:
        vaddr_pin_pages(a, 1, 0, owner)
    assert e.value.errno == errno.ESRCH


def test_follow_page_takes_foll_force_as_the_types_do(mm: MM) -> None:
    """FOLL_WRITE | FOLL_FORCE follows a read-only private mapping to a page
    whose COW is broken, and nothing else that FOLL_WRITE alone would not."""
    a = mm.mmap(2 * PAGE_SIZE, prot=pinapi.PROT_READ)
    mm.mprotect(a, 2 * PAGE_SIZE, pinapi.PROT_READ | pinapi.PROT_WRITE)
    mm.write(a, b"cow")  # page 0: an exclusive anonymous copy
    mm.read(a + PAGE_SIZE, 1)  # page 1: the zero page
    mm.mprotect(a, 2 * PAGE_SIZE, pinapi.PROT_READ)
    vma = mm.find_vma(a)
    assert vma is not None
    assert pinapi.follow_page(vma, a, pinapi.FOLL_WRITE) is None
    assert pinapi.follow_page(vma, a + PAGE_SIZE, pinapi.FOLL_WRITE | pinapi.FOLL_FORCE) is None
    page = pinapi.follow_page(vma, a, pinapi.FOLL_WRITE | pinapi.FOLL_FORCE)
    assert page is not None
    pinapi.put_page(page)


@pytest.mark.parametrize("exc", [RuntimeError, MemoryError, KeyboardInterrupt])
def test_any_exception_in_the_engine_unwinds_every_grab(mm: MM, monkeypatch: pytest.MonkeyPatch,
                                                        exc: type[BaseException]) -> None:  # fmt: skip
    """Not only a KernelError: whatever stops the walk, nothing it grabbed
    stays grabbed."""
    a = touched(mm, 4)
    mm.munmap(a + 2 * PAGE_SIZE, PAGE_SIZE)
    mm.mmap(PAGE_SIZE, addr=a + 2 * PAGE_SIZE, flags=MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)
    before = state(mm)

    def fault(*args: object, **kwargs: object) -> None:
        raise exc("a fault that fails in an unexpected way")

    monkeypatch.setattr(pinapi._mm.gup, "handle_mm_fault", fault)
    for call in (lambda: vaddr_pin_pages(a, 4, FOLL_WRITE, VaddrPin(mm=mm)),
                 lambda: vaddr_pin_pages(a, 4, FOLL_WRITE | FOLL_LONGTERM, VaddrPin(mm=mm)),
                 lambda: get_user_pages_remote(mm, a, 4, 0),
                 lambda: pinapi.pin_user_pages_fast(a, 4, FOLL_WRITE),  # GUP-fast takes two first
                 lambda: pinapi.get_user_pages_fast(a, 4, 0)):  # fmt: skip
        with pytest.raises(exc):
            call()
        assert state(mm) == before
