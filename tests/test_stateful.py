"""Random sequences of mmap, touch, get/put, pin/unpin and munmap, with the
kernel's counting rules checked after every step against an independent
model of who holds which reference."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import pinapi
from pinapi import lowlevel
from pinapi import (
    FOLL_LONGTERM, FOLL_WRITE, MADV_HUGEPAGE, MAP_SHARED, MM, PAGE_SIZE, PMD_SIZE, Folio,
    KernelError, Page, PinnedBvec, PinnedPage, PinnedPages, VaddrPin,
)  # fmt: skip
from pinapi.lowlevel import GUP_PIN_COUNTING_BIAS, ZERO_FOLIO
from pinapi._mm.filemap import AddressSpace
from pinapi._mm.page_alloc import REFCOUNT_MAX

STEPS = Counter[str]()


class PinMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.mm = MM("stateful")
        self.owner = VaddrPin(mm=self.mm)
        self.regions: list[tuple[int, int]] = []
        self.gets: list[list[Page]] = []
        self.pins: list[PinnedPages] = []
        self.bvecs: list[PinnedBvec] = []
        self.folios: dict[int, Folio] = {}
        self.base = lowlevel.vmstat.snapshot()

    def _see(self, pages: list[Page]) -> None:
        for p in pages:
            self.folios[id(p.folio)] = p.folio

    def _range(self, data: st.DataObject) -> tuple[int, int]:
        start, npages = data.draw(st.sampled_from(self.regions))
        first = data.draw(st.integers(-1, npages - 1))  # -1: one page before
        n = data.draw(st.integers(1, npages + 1 - max(first, 0)))  # may run past the end
        return start + first * PAGE_SIZE, n

    @rule(npages=st.sampled_from([1, 3, 8, 512, 600]), thp=st.booleans(), shared=st.booleans())
    def mmap(self, npages: int, thp: bool, shared: bool) -> None:
        STEPS["mmap"] += 1
        if shared:
            f = pinapi.shmem_file(npages * PAGE_SIZE)
            a = self.mm.mmap(npages * PAGE_SIZE, flags=MAP_SHARED, file=f)
        else:
            a = self.mm.mmap(npages * PAGE_SIZE)
            if thp:
                self.mm.madvise(a, npages * PAGE_SIZE, MADV_HUGEPAGE)
        self.regions.append((a, npages))

    @precondition(lambda self: self.regions)
    @rule(data=st.data(), write=st.booleans())
    def touch(self, data: st.DataObject, write: bool) -> None:
        STEPS["touch"] += 1
        start, n = self._range(data)
        try:
            if write:
                self.mm.write(start, b"\xaa" * (n * PAGE_SIZE))
            else:
                self.mm.read(start, n * PAGE_SIZE)
        except KernelError:
            pass

    @precondition(lambda self: self.regions)
    @rule(data=st.data(), write=st.booleans())
    def get(self, data: st.DataObject, write: bool) -> None:
        STEPS["get"] += 1
        start, n = self._range(data)
        try:
            pages = pinapi.get_user_pages_remote(self.mm, start, n, FOLL_WRITE if write else 0)
        except KernelError:
            return
        self._see(pages)
        self.gets.append(pages)

    @precondition(lambda self: self.gets)
    @rule(data=st.data())
    def put(self, data: st.DataObject) -> None:
        STEPS["put"] += 1
        pages = self.gets.pop(data.draw(st.integers(0, len(self.gets) - 1)))
        pinapi.release_pages(pages)

    @precondition(lambda self: self.regions)
    @rule(data=st.data(), write=st.booleans(), longterm=st.booleans())
    def pin(self, data: st.DataObject, write: bool, longterm: bool) -> None:
        STEPS["pin"] += 1
        start, n = self._range(data)
        flags = (FOLL_WRITE if write else 0) | (FOLL_LONGTERM if longterm else 0)
        before = lowlevel.vmstat.snapshot()
        try:
            pins = pinapi.vaddr_pin_pages(start, n, flags, self.owner)
        except KernelError:
            after = lowlevel.vmstat.snapshot()
            assert after["nr_foll_pin_acquired"] == before["nr_foll_pin_acquired"]
            assert after["nr_foll_pin_released"] == before["nr_foll_pin_released"]
            return
        assert len(pins) == n  # all or nothing
        self._see(pins._pages)
        self.pins.append(pins)

    @precondition(lambda self: self.pins)
    @rule(data=st.data(), how=st.sampled_from(["all", "one", "dirty"]))
    def unpin(self, data: st.DataObject, how: str) -> None:
        STEPS["unpin"] += 1
        pins = self.pins[data.draw(st.integers(0, len(self.pins) - 1))]
        live = [p for p in pins if p.pinned]
        if how == "one":
            pinapi.unpin_user_page(data.draw(st.sampled_from(live)))
        elif how == "dirty" and not pins._record.flags & FOLL_WRITE:
            with pytest.raises(KernelError, match="EINVAL: make_dirty on a pin taken without FOLL_WRITE"):
                pinapi.unpin_user_pages_dirty_lock(live, make_dirty=True)
            assert all(p.pinned for p in live)  # refused whole: still live, released clean
            pinapi.unpin_user_pages(live)
        elif how == "dirty":
            pinapi.unpin_user_pages_dirty_lock(live, make_dirty=True)
        else:
            pinapi.unpin_user_pages(live)
        if not pins.nr_pinned:
            self.pins.remove(pins)

    @precondition(lambda self: self.regions)
    @rule(data=st.data(), write=st.booleans(), longterm=st.booleans())
    def bvec(self, data: st.DataObject, write: bool, longterm: bool) -> None:
        STEPS["bvec"] += 1
        start, n = self._range(data)
        head = data.draw(st.integers(0, PAGE_SIZE - 1))
        length = max(1, n * PAGE_SIZE - head - data.draw(st.integers(0, PAGE_SIZE - 1)))
        flags = (FOLL_WRITE if write else 0) | (FOLL_LONGTERM if longterm else 0)
        before = lowlevel.vmstat.snapshot()
        try:
            bvec = pinapi.get_user_bvec(start + head, length, flags, self.owner)
        except KernelError:
            after = lowlevel.vmstat.snapshot()
            assert after["nr_foll_pin_acquired"] == before["nr_foll_pin_acquired"]
            return
        assert sum(seg.length for seg in bvec) == length
        self._see([Page(f, 0) for f in bvec._runs.folios])
        self.bvecs.append(bvec)

    @precondition(lambda self: self.bvecs)
    @rule(data=st.data(), dirty=st.booleans())
    def put_bvec(self, data: st.DataObject, dirty: bool) -> None:
        STEPS["put_bvec"] += 1
        bvec = self.bvecs.pop(data.draw(st.integers(0, len(self.bvecs) - 1)))
        if dirty and not bvec._record.flags & FOLL_WRITE:
            with pytest.raises(KernelError, match="EINVAL: make_dirty on a pin taken without FOLL_WRITE"):
                pinapi.put_user_bvec(bvec, True)
            assert bvec.pinned
            dirty = False
        pinapi.put_user_bvec(bvec, dirty)

    @precondition(lambda self: self.regions)
    @rule(data=st.data())
    def munmap(self, data: st.DataObject) -> None:
        STEPS["munmap"] += 1
        start, n = self._range(data)
        for _, page in self.mm.mapped_pages():
            self.folios[id(page.folio)] = page.folio
        try:
            self.mm.munmap(max(start, PAGE_SIZE), n * PAGE_SIZE)
        except KernelError:
            pass

    def _live_pins(self) -> list[Page]:
        """One entry per pinned base page, bvecs' included."""
        pages = [pps._pages[p._i] for pps in self.pins for p in pps if p.pinned]
        for bvec in self.bvecs:
            runs = bvec._runs
            pages += [Page(f, i) for f, first, nr in zip(runs.folios, runs.first, runs.nr)
                      for i in range(first, first + nr)]  # fmt: skip
        return pages

    @invariant()
    def counts_are_exactly_who_holds_what(self) -> None:
        STEPS["checks"] += 1
        for _, page in self.mm.mapped_pages():
            self.folios[id(page.folio)] = page.folio
        entries: Counter[int] = Counter()
        for _, entry in self.mm.pgtable.entries():
            folio = entry if isinstance(entry, Folio) else entry.folio
            if folio is not ZERO_FOLIO:
                entries[id(folio)] += 1
        plain = Counter(id(p.folio) for pages in self.gets for p in pages if p.folio is not ZERO_FOLIO)
        pinned = Counter(id(p.folio) for p in self._live_pins() if p.folio is not ZERO_FOLIO)
        for key, f in self.folios.items():
            if f is ZERO_FOLIO:
                continue
            pin_refs = pinned[key] if f.order else pinned[key] * GUP_PIN_COUNTING_BIAS
            cache = 1 if isinstance(f.mapping, AddressSpace) else 0
            assert f.mapcount() == entries[key]
            assert f.pincount() == (pinned[key] if f.order else 0)
            assert f.refcount() == entries[key] + cache + plain[key] + pin_refs, f
            assert 0 <= f.refcount() <= REFCOUNT_MAX
            if pinned[key]:
                assert f.refcount() > 0  # a pinned folio is never freed
                assert pinapi.folio_maybe_dma_pinned(f)  # no false negatives
        stat = lowlevel.vmstat.snapshot()
        live = sum(1 for p in self._live_pins() if p.folio is not ZERO_FOLIO)
        acquired = stat["nr_foll_pin_acquired"] - self.base["nr_foll_pin_acquired"]
        released = stat["nr_foll_pin_released"] - self.base["nr_foll_pin_released"]
        assert acquired - released == live
        assert sum(r.live for r in lowlevel.pin_ledger()) == len(self._live_pins())

    def teardown(self) -> None:
        for pins in self.pins:
            pinapi.unpin_user_pages([p for p in pins if p.pinned])
        for bvec in self.bvecs:
            pinapi.put_user_bvec(bvec, False)
        for pages in self.gets:
            pinapi.release_pages(pages)
        self.mm.exit()
        for f in self.folios.values():
            if f is ZERO_FOLIO:
                continue
            cache = 1 if isinstance(f.mapping, AddressSpace) else 0
            assert (f.refcount(), f.pincount(), f.mapcount()) == (cache, 0, 0), f
        stat = lowlevel.vmstat.snapshot()
        assert stat["nr_foll_pin_acquired"] == stat["nr_foll_pin_released"]


PinMachine.TestCase.settings = settings(max_examples=300, stateful_step_count=30, deadline=None)
TestPinMachine = PinMachine.TestCase


def test_pinned_handles_are_never_pages() -> None:
    assert not issubclass(PinnedPage, Page) and not issubclass(Page, PinnedPage)
