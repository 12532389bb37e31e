"""Scatterlists generic in the page handle, kernel pages, and kmap-style data
access: the run-time half of the contract."""

from __future__ import annotations

import errno

import pytest

import pinapi
from pinapi import lowlevel
from pinapi import (
    FOLL_WRITE, MM, PAGE_SIZE, KernelError, KernelPage, MaybeWrite, PinnedPage, Read, SgTable, VaddrPin, Write, alloc_page,
    for_each_sg, get_user_pages_remote, memcpy_from_page, memcpy_to_page, put_page, release_pages,
    sg_alloc_table, sg_alloc_table_from_pages, sg_free_table, sg_page, sg_set_page, unpin_user_page,
    unpin_user_pages, vaddr_pin_pages,
)  # fmt: skip
from helpers import exact_state, state


@pytest.fixture
def buf(mm: MM) -> int:
    a = mm.mmap(8 * PAGE_SIZE)
    mm.write(a, b"u" * (8 * PAGE_SIZE))
    return a


def test_sg_page_returns_the_pins_that_went_in(mm: MM, buf: int, owner: VaddrPin) -> None:
    pins = vaddr_pin_pages(buf, 3, FOLL_WRITE, owner)
    sgt = sg_alloc_table_from_pages(pins, 100, 3 * PAGE_SIZE - 200)
    entries = list(for_each_sg(sgt))
    assert [(sg.offset, sg.length) for sg in entries] == [(100, PAGE_SIZE - 100), (0, PAGE_SIZE), (0, PAGE_SIZE - 100)]
    assert [sg_page(sg) for sg in entries] == list(pins)
    assert all(type(sg_page(sg)) is PinnedPage for sg in entries)
    for sg in entries:
        unpin_user_page(sg_page(sg))
    sg_free_table(sgt)
    assert pins.nr_pinned == 0


def test_sg_table_of_plain_pages(mm: MM, buf: int) -> None:
    pages = get_user_pages_remote(mm, buf, 2, 0)
    sgt = sg_alloc_table(2, pinapi.Page)
    for sg, page in zip(for_each_sg(sgt), pages):
        sg_set_page(sg, page, 512, 8)
    assert [(sg_page(sg), sg.offset, sg.length) for sg in for_each_sg(sgt)] == [(p, 8, 512) for p in pages]
    release_pages([sg_page(sg) for sg in for_each_sg(sgt)])


@pytest.mark.parametrize(("offset", "size", "nr"), [(0, 0, 1), (0, PAGE_SIZE + 1, 1), (0, PAGE_SIZE, 2),
                                                    (PAGE_SIZE, 1, 1), (-1, 10, 1), (0, 1, 0)])  # fmt: skip
def test_sg_table_from_pages_refuses_a_size_that_does_not_span_the_pages(
        mm: MM, buf: int, owner: VaddrPin, offset: int, size: int, nr: int) -> None:  # fmt: skip
    with vaddr_pin_pages(buf, 2, 0, owner) as pins:
        with pytest.raises(KernelError, match="do not span") as e:
            sg_alloc_table_from_pages(pins[:nr], offset, size)
        assert e.value.errno == errno.EINVAL


def test_sg_set_page_refuses_a_second_kind_and_bad_bounds(mm: MM, buf: int, owner: VaddrPin) -> None:
    with vaddr_pin_pages(buf, 1, 0, owner) as pins:
        kpage = alloc_page()
        sgt = sg_alloc_table(2, PinnedPage[Read])
        first, second = for_each_sg(sgt)
        sg_set_page(first, pins[0], PAGE_SIZE, 0)
        with pytest.raises(TypeError, match=r"sg table of PinnedPage\[Read\] given a KernelPage"):
            sg_set_page(second, kpage, PAGE_SIZE, 0)  # type: ignore[misc]
        with pytest.raises(TypeError, match="page must be a Page, a KernelPage, a PinnedPage or a BvecSegment"):
            sg_set_page(second, "page", PAGE_SIZE, 0)  # type: ignore[misc]
        with pytest.raises(KernelError, match="does not fit in a page"):
            sg_set_page(second, pins[0], PAGE_SIZE, 1)
        with pytest.raises(KernelError, match="never set"):
            sg_page(second)
        put_page(kpage)


def test_sg_table_after_free_and_bad_nents() -> None:
    with pytest.raises(KernelError, match="nents must be positive"):
        sg_alloc_table(0, KernelPage)
    sgt = sg_alloc_table(1, KernelPage)
    (sg,) = for_each_sg(sgt)
    sg_free_table(sgt)
    for call in (lambda: for_each_sg(sgt), lambda: sg_page(sg), lambda: sg_free_table(sgt)):
        with pytest.raises(KernelError, match="after sg_free_table"):
            call()


def test_kernel_page_data_and_release() -> None:
    before = lowlevel.vmstat.snapshot()
    page = alloc_page()
    assert memcpy_from_page(page, 0, 4) == bytes(4)
    memcpy_to_page(page, 10, b"kernel")
    assert memcpy_from_page(page, 8, 10) == b"\0\0kernel\0\0"
    assert page.folio.refcount() == 1
    put_page(page)
    assert lowlevel.vmstat.nr_folios_freed == before["nr_folios_freed"] + 1
    with pytest.raises(KernelError, match="after put_page") as e:
        memcpy_to_page(page, 0, b"late")
    assert e.value.errno == errno.EINVAL
    with pytest.raises(TypeError, match="no public constructor"):
        KernelPage()  # type: ignore[call-arg]


def test_data_access_through_a_pin_and_never_a_plain_page(mm: MM, buf: int, owner: VaddrPin) -> None:
    with vaddr_pin_pages(buf, 1, FOLL_WRITE, owner) as pins:
        memcpy_to_page(pins[0], 0, b"DMA")
        assert memcpy_from_page(pins[0], 0, 4) == b"DMAu"
    assert mm.read(buf, 4) == b"DMAu"
    pages = get_user_pages_remote(mm, buf, 1, 0)
    before = state(mm)
    with pytest.raises(TypeError, match="case 5"):
        memcpy_to_page(pages[0], 0, b"x")  # type: ignore[arg-type]
    assert state(mm) == before and mm.read(buf, 1) == b"D"
    put_page(pages[0])
    with pytest.raises(KernelError, match="after it was unpinned"):
        memcpy_from_page(pins[0], 0, 1)


def test_unpin_user_pages_from_an_sg_table_balances(mm: MM, buf: int, owner: VaddrPin) -> None:
    pins = vaddr_pin_pages(buf, 4, FOLL_WRITE, owner)
    sgt = sg_alloc_table_from_pages(pins, 0, 4 * PAGE_SIZE)
    unpin_user_pages(sg_page(sg) for sg in for_each_sg(sgt))
    stat = lowlevel.vmstat.snapshot()
    assert stat["nr_foll_pin_acquired"] == stat["nr_foll_pin_released"]


def test_sg_table_from_a_bvec_carries_segments(mm: MM) -> None:
    a = mm.mmap(2 * pinapi.PMD_SIZE)
    mm.madvise(a, pinapi.PMD_SIZE, pinapi.MADV_HUGEPAGE)
    mm.write(a, b"t" * (2 * pinapi.PMD_SIZE))
    bvec = pinapi.get_user_bvec(a + 100, pinapi.PMD_SIZE + 2 * PAGE_SIZE, FOLL_WRITE, VaddrPin(mm=mm))
    sgt = pinapi.sg_alloc_table_from_bvec(bvec)
    entries = list(for_each_sg(sgt))
    assert [(sg.offset, sg.length) for sg in entries] == [(0, seg.length) for seg in bvec]
    assert entries[0].length == pinapi.PMD_SIZE - 100  # the huge page is one entry
    assert [sg_page(sg) for sg in entries] == list(bvec)
    sg_page(entries[1]).write(0, b"dev")
    before = exact_state(mm)["folios"]
    with pytest.raises(TypeError, match="got BvecSegment"):
        put_page(sg_page(entries[0]))  # type: ignore[arg-type]
    with vaddr_pin_pages(a, 1, 0, VaddrPin(mm=mm)) as pins, pytest.raises(TypeError, match="one kind"):
        sg_set_page(entries[0], pins[0], PAGE_SIZE, 0)  # type: ignore[arg-type]
    with pytest.raises(KernelError, match="does not fit in its segment"):
        sg_set_page(entries[1], sg_page(entries[1]), entries[1].length + 1, 0)
    assert exact_state(mm)["folios"] == before
    sg_free_table(sgt)
    pinapi.put_user_bvec(bvec, make_dirty=True)
    assert mm.read(a + pinapi.PMD_SIZE, 3) == b"dev"


def test_sg_alloc_table_names_its_kind_and_the_pins_permission(mm: MM, buf: int, owner: VaddrPin) -> None:
    """An empty table is allocated for one kind; a pin table for one write
    permission (MaybeWrite takes either), so what comes out is what the type says."""
    with pytest.raises(TypeError, match="kind is Page, KernelPage"):
        sg_alloc_table(1, int)  # type: ignore[type-var]
    with pytest.raises(TypeError, match="kind is Page, KernelPage"):
        sg_alloc_table(1, PinnedPage[int])  # type: ignore[type-var]
    with vaddr_pin_pages(buf, 1, FOLL_WRITE, owner) as writer, vaddr_pin_pages(buf, 1, 0, owner) as reader:
        (slot,) = for_each_sg(sg_alloc_table(1, PinnedPage[Read]))
        with pytest.raises(TypeError, match=r"PinnedPage\[Read\] given a PinnedPage pinned with FOLL_WRITE"):
            sg_set_page(slot, writer[0], PAGE_SIZE, 0)  # type: ignore[misc]
        sg_set_page(slot, reader[0], PAGE_SIZE, 0)
        either = sg_alloc_table(2, PinnedPage[MaybeWrite])
        for sg, pin in zip(for_each_sg(either), [writer[0].for_write(), reader[0]]):
            sg_set_page(sg, pin, PAGE_SIZE, 0)  # type: ignore[arg-type]
        assert repr(either) == "<SgTable PinnedPage[MaybeWrite] x2>"
        assert repr(sg_alloc_table(1, PinnedPage[Write])) == "<SgTable PinnedPage[Write] x1>"
