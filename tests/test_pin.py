"""Pin handles, release rules, the ledger, the debug counter, threads."""

from __future__ import annotations

import errno
import gc
import threading

import pytest

import pinapi
from pinapi import lowlevel
from helpers import state
from pinapi import (
    FOLL_WRITE, MM, PAGE_SIZE, KernelError, PinnedPage, PinnedPagePutWarning, PinnedPages, VaddrPin,
    get_user_pages_remote, put_page, unpin_user_page, unpin_user_pages, unpin_user_pages_dirty_lock,
    vaddr_pin_pages, vaddr_unpin_pages_dirty_lock,
)  # fmt: skip
from pinapi.lowlevel import PG


@pytest.fixture
def buf(mm: MM) -> int:
    a = mm.mmap(8 * PAGE_SIZE)
    mm.write(a, b"u" * 8 * PAGE_SIZE)
    return a


def test_handles_have_no_public_constructor() -> None:
    with pytest.raises(TypeError, match="no public constructor"):
        PinnedPage()
    with pytest.raises(TypeError, match="no public constructor"):
        PinnedPages()


def test_dma_through_a_pin_is_what_the_process_reads(mm: MM, buf: int, owner: VaddrPin) -> None:
    pins = vaddr_pin_pages(buf, 8, FOLL_WRITE, owner)
    for i, p in enumerate(pins):
        p.write(100, bytes([i]) * 10)
    unpin_user_pages_dirty_lock(pins, make_dirty=True)
    for i in range(8):
        assert mm.read(buf + i * PAGE_SIZE + 100, 10) == bytes([i]) * 10


def test_a_pin_releases_exactly_once(buf: int, owner: VaddrPin) -> None:
    pins = vaddr_pin_pages(buf, 2, 0, owner)
    unpin_user_page(pins[0])
    before = state(owner.mm) if owner.mm else None
    with pytest.raises(KernelError, match="already unpinned") as e:
        unpin_user_page(pins[0])
    assert e.value.errno == errno.EINVAL
    with pytest.raises(KernelError, match="already unpinned"):
        unpin_user_pages(pins)  # page 0 is gone: nothing of it is released
    assert owner.mm is not None and state(owner.mm) == before
    assert pins[1].pinned
    unpin_user_page(pins[1])


def test_duplicate_handle_in_one_call_changes_nothing(mm: MM, buf: int, owner: VaddrPin) -> None:
    pins = vaddr_pin_pages(buf, 2, 0, owner)
    before = state(mm)
    with pytest.raises(KernelError, match="appears twice"):
        unpin_user_pages([pins[0], pins[1], pins[0]])
    assert state(mm) == before
    unpin_user_pages(pins)


def test_use_after_unpin_is_refused(buf: int, owner: VaddrPin) -> None:
    pins = vaddr_pin_pages(buf, 1, FOLL_WRITE, owner)
    page = pins[0]
    unpin_user_pages(pins)
    with pytest.raises(KernelError, match="after it was unpinned") as e:
        page.write(0, b"late DMA")
    assert e.value.errno == errno.EINVAL
    with pytest.raises(KernelError):
        page.read()


def test_unpin_rejects_plain_pages_at_run_time(mm: MM, buf: int) -> None:
    pages = get_user_pages_remote(mm, buf, 1, 0)
    before = state(mm)
    with pytest.raises(TypeError, match="put_page"):
        unpin_user_page(pages[0])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="put_page"):
        unpin_user_pages(pages)  # type: ignore[arg-type]
    assert state(mm) == before
    put_page(pages[0])


def test_put_page_rejects_pins_at_run_time(mm: MM, buf: int, owner: VaddrPin) -> None:
    pins = vaddr_pin_pages(buf, 2, 0, owner)
    before = state(mm)
    with pytest.raises(TypeError, match="unpin_user_page"):
        put_page(pins[0])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="unpin_user_page"):
        pinapi.release_pages(list(pins))  # type: ignore[arg-type]
    assert state(mm) == before
    unpin_user_pages(pins)


def test_unpin_with_the_wrong_owner(mm: MM, buf: int, owner: VaddrPin) -> None:
    other = MM("other")
    pins = vaddr_pin_pages(buf, 2, 0, owner)
    before = state(mm)
    with pytest.raises(KernelError, match="belong to") as e:
        vaddr_unpin_pages_dirty_lock(pins, VaddrPin(mm=other), make_dirty=False)
    assert e.value.errno == errno.EINVAL and state(mm) == before
    vaddr_unpin_pages_dirty_lock(pins, owner, make_dirty=False)


def test_dirty_lock_dirties_only_when_asked(mm: MM, buf: int, owner: VaddrPin) -> None:
    pins = vaddr_pin_pages(buf, 2, FOLL_WRITE, owner)
    folios = [pins._pages[i].folio for i in range(2)]
    for f in folios:
        f.flags &= ~PG.dirty
    unpin_user_page(pins[0])
    unpin_user_pages_dirty_lock(pins[1:], make_dirty=True)
    assert [f.test(PG.dirty) for f in folios] == [False, True]
    assert not folios[1].test(PG.locked)


def test_ledger_lists_owner_range_flags_and_site(mm: MM, buf: int, owner: VaddrPin) -> None:
    pins = vaddr_pin_pages(buf + PAGE_SIZE, 3, FOLL_WRITE, owner)
    (rec,) = lowlevel.pin_ledger()
    assert rec.owner is owner and rec.mm is mm
    assert (rec.start, rec.nr_pages, rec.live) == (buf + PAGE_SIZE, 3, 3)
    assert rec.flags & FOLL_WRITE
    assert rec.site.startswith(__file__) and "test_ledger_lists" in rec.site
    unpin_user_page(pins[1])
    assert lowlevel.pin_ledger()[0].live == 2
    unpin_user_pages([pins[0], pins[2]])
    assert lowlevel.pin_ledger() == []


def test_context_manager_unpins_the_rest(buf: int, owner: VaddrPin) -> None:
    with vaddr_pin_pages(buf, 4, 0, owner) as pins:
        unpin_user_page(pins[2])
    assert pins.nr_pinned == 0 and lowlevel.pin_ledger() == []


def test_collecting_a_live_handle_warns_and_the_ledger_keeps_the_leak(buf: int, owner: VaddrPin) -> None:
    pins = vaddr_pin_pages(buf, 2, 0, owner)
    record = pins._record
    with pytest.warns(ResourceWarning, match="2 pages still pinned"):
        del pins
        gc.collect()
    assert lowlevel.pin_ledger() == [record] and record.live == 2
    # The leak is real: the pages keep their pins. Clean up behind the test.
    pinapi._mm.gup.gup_put_pages(record.pages, record.flags)
    pinapi._mm.debug.debug.account(record.pages, -1)
    del pinapi._pin.ledger.records[record.seq]


def test_debug_put_page_on_a_pinned_page_names_the_pin_site(mm: MM, buf: int, owner: VaddrPin) -> None:
    pins = vaddr_pin_pages(buf, 1, 0, owner)  # the pin site
    (plain,) = get_user_pages_remote(mm, buf, 1, 0)
    put_page(plain)  # fine: drops the plain reference
    before = state(mm)
    refcount = plain.folio.refcount()
    with pytest.raises(PinnedPagePutWarning, match=r"test_pin.py:\d+ \(test_debug_put_page"):
        put_page(plain)  # that reference belongs to the pin; as an error, raised first
    assert state(mm) == before
    with pytest.warns(PinnedPagePutWarning):
        put_page(plain)  # as a WARN the kernel goes on: the pin's reference is gone
    assert plain.folio.refcount() == refcount - 1
    pinapi.get_page(plain)  # give it back so the test can unpin
    unpin_user_pages(pins)


def test_debug_counter_toggles_only_without_live_pins(buf: int, owner: VaddrPin) -> None:
    with vaddr_pin_pages(buf, 1, 0, owner):
        with pytest.raises(KernelError) as e:
            lowlevel.set_debug_pins(False)
        assert e.value.errno == errno.EBUSY
    assert lowlevel.debug_pins_enabled()


def test_pins_from_threads_keep_counts_exact(mm: MM) -> None:
    a = mm.mmap(64 * PAGE_SIZE)
    mm.write(a, b"t" * 64 * PAGE_SIZE)
    shared = get_user_pages_remote(mm, a, 64, 0)
    before = lowlevel.vmstat.snapshot()
    errors: list[BaseException] = []

    def worker(seed: int) -> None:
        try:
            owner = VaddrPin(mm=mm)
            for i in range(200):
                n = 1 + (seed * 7 + i) % 16
                start = a + ((seed + i) % (64 - n + 1)) * PAGE_SIZE
                pins = vaddr_pin_pages(start, n, FOLL_WRITE if i % 2 else 0, owner)
                unpin_user_pages_dirty_lock(pins, make_dirty=bool(i % 2 and i % 3))
        except BaseException as e:  # surfaced below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(s,)) for s in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    after = lowlevel.vmstat.snapshot()
    acquired = after["nr_foll_pin_acquired"] - before["nr_foll_pin_acquired"]
    assert acquired == after["nr_foll_pin_released"] - before["nr_foll_pin_released"] > 8 * 200
    assert all(p.folio.refcount() == 2 for p in shared)
    pinapi.release_pages(shared)


def test_a_read_pin_is_read_only_for_the_device(mm: MM, owner: VaddrPin) -> None:
    """A read pin of untouched memory holds the shared zero page: writing it
    would show in every zero-filled page of every process."""
    a = mm.mmap(2 * PAGE_SIZE)
    with vaddr_pin_pages(a, 1, 0, owner) as pins:
        before = state(mm)
        with pytest.raises(KernelError, match="without FOLL_WRITE") as e:
            pins[0].write(0, b"oops")
        assert e.value.errno == errno.EPERM
        with pytest.raises(KernelError, match="without FOLL_WRITE"):
            pinapi.memcpy_to_page(pins[0], 0, b"oops")
        assert pinapi.memcpy_from_page(pins[0], 0, 4) == bytes(4)
        assert state(mm) == before
    assert mm.read(a + PAGE_SIZE, 4) == bytes(4)


def test_a_read_pin_is_released_clean_and_written_never(mm: MM, owner: VaddrPin) -> None:
    """make_dirty=True on a read pin is EINVAL with every pin still live and
    releasable; for_write() is EPERM; on a write pin it is the same handle."""
    a = mm.mmap(2 * PAGE_SIZE)
    mm.write(a, b"r" * 8)
    reader = vaddr_pin_pages(a, 2, 0, owner)
    writer = vaddr_pin_pages(a, 1, FOLL_WRITE, owner)
    before = state(mm)
    with pytest.raises(KernelError, match="EINVAL: make_dirty on a pin taken without FOLL_WRITE") as e:
        unpin_user_pages_dirty_lock([writer[0], *reader], make_dirty=True)  # type: ignore[list-item]
    assert e.value.errno == errno.EINVAL and state(mm) == before
    assert reader.nr_pinned == 2 and writer.nr_pinned == 1
    for handle in (reader, reader[0]):
        with pytest.raises(KernelError, match="EPERM") as e:
            handle.for_write()  # type: ignore[misc]
        assert e.value.errno == errno.EPERM
    pin = writer[0]
    assert writer.for_write() is writer and pin.for_write() is pin
    unpin_user_pages_dirty_lock(writer, make_dirty=True)
    unpin_user_pages(reader)
