"""get_user_bvec(): pin a byte range as bio_vec segments, copy through them
or map them as a scatterlist, release the whole bvec once."""

from typing_extensions import assert_type

from pinapi import (
    FOLL_WRITE, MM, PAGE_SIZE, BvecSegment, PinnedBvec, SgTable, VaddrPin, Write, for_each_sg,
    get_user_bvec, put_user_bvec, sg_alloc_table_from_bvec, sg_free_table, sg_page,
)  # fmt: skip


def dma_into(mm: MM, addr: int, length: int, data: bytes) -> int:
    """Write *data* at the start of each segment; returns how many there were."""
    bvec = get_user_bvec(addr, length, FOLL_WRITE, VaddrPin(mm=mm))
    assert_type(bvec, PinnedBvec[Write])
    for seg in bvec:
        assert_type(seg, BvecSegment[Write])
        seg.write(0, data[: seg.length])
    n = len(bvec)
    put_user_bvec(bvec, make_dirty=True)
    return n


def dma_through_an_sg_table(mm: MM, addr: int, length: int, data: bytes) -> None:
    """Map the bvec as a scatterlist; the device writes each entry."""
    bvec = get_user_bvec(addr, length, FOLL_WRITE, VaddrPin(mm=mm))
    sgt = sg_alloc_table_from_bvec(bvec)
    assert_type(sgt, SgTable[BvecSegment[Write]])
    for sg in for_each_sg(sgt):
        assert_type(sg_page(sg), BvecSegment[Write])
        sg_page(sg).write(sg.offset, data[: sg.length])
    sg_free_table(sgt)
    put_user_bvec(bvec, make_dirty=True)


def scenario() -> None:
    mm = MM("bvec")
    buf = mm.mmap(4 * PAGE_SIZE)
    assert dma_into(mm, buf + 100, 2 * PAGE_SIZE, b"segment") >= 1
    assert mm.read(buf + 100, 7) == b"segment"
    dma_through_an_sg_table(mm, buf + 1, PAGE_SIZE, b"sg entry")
    assert mm.read(buf + 1, 8) == b"sg entry"
    mm.exit()
