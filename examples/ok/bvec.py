"""get_user_bvec(): pin a byte range as bio_vec segments, copy through them,
release the whole bvec once."""

from typing_extensions import assert_type

from pinapi import (
    FOLL_WRITE, MM, PAGE_SIZE, BvecSegment, PinnedBvec, VaddrPin, get_user_bvec, put_user_bvec,
)  # fmt: skip


def dma_into(mm: MM, addr: int, length: int, data: bytes) -> int:
    """Write *data* at the start of each segment; returns how many there were."""
    bvec = get_user_bvec(addr, length, FOLL_WRITE, VaddrPin(mm=mm))
    assert_type(bvec, PinnedBvec)
    for seg in bvec:
        assert_type(seg, BvecSegment)
        seg.write(0, data[: seg.length])
    n = len(bvec)
    put_user_bvec(bvec, make_dirty=True)
    return n


def scenario() -> None:
    mm = MM("bvec")
    buf = mm.mmap(4 * PAGE_SIZE)
    assert dma_into(mm, buf + 100, 2 * PAGE_SIZE, b"segment") >= 1
    assert mm.read(buf + 100, 7) == b"segment"
    mm.exit()
