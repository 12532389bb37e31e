"""NFS O_DIRECT: reads land in, and writes go out of, the caller's pages,
an rsize/wsize chunk at a time, by RPC (socket copy or RDMA).

fs/nfs/direct.c: nfs_direct_read_schedule_iovec() and
nfs_direct_write_schedule_iovec() take each chunk with
``iov_iter_get_pages_alloc(iter, &pagevec, rsize, &pgbase)``, wrap every
page in an nfs_page request (which takes its own reference), and drop the
GUP references at once with nfs_direct_release_pages() (a put_page() loop).

Case 1, the textbook Direct IO case, not converted in 6.12.117: both
schedule functions still take each chunk with iov_iter_get_pages_alloc2() and
nfs_direct_release_pages() put_page()s it. A chunk is naturally a run of
bio_vecs, so here
``get_user_bvec()`` held until the RPC completes, then ``put_user_bvec()``,
dirtied for a read.

Short result: accepted, the loop schedules what it got and continues; here
each chunk is all or nothing.
"""

from typing import Final

from pinapi import FOLL_WRITE, MaybeWrite, PAGE_SIZE, PinnedBvec, VaddrPin, get_user_bvec, put_user_bvec

from ._user import user_buffer

SUBSYSTEM: Final = "fs/nfs"
KERNEL_FILES: Final = ("fs/nfs/direct.c",)
FUNCTIONS: Final = (
    "nfs_direct_read_schedule_iovec", "nfs_direct_write_schedule_iovec", "nfs_direct_release_pages",
)  # fmt: skip
CASE: Final = 1
API: Final = "bvec"
CONTAINER: Final = "bvec"
RELEASE: Final = "put_user_bvec"
JUDGEMENT: Final = ""
CHECKED_IN: Final = "v6.12.117"
CHECKED: Final = {
    "fs/nfs/direct.c": (
        "nfs_direct_read_schedule_iovec", "nfs_direct_write_schedule_iovec", "nfs_direct_release_pages",
    ),
}

RSIZE: Final = 2 * PAGE_SIZE


def nfs_direct_schedule(addr: int, count: int, read: bool, owner: VaddrPin) -> list[PinnedBvec[MaybeWrite]]:
    """One bvec per rsize/wsize chunk, each held by its RPC."""
    reqs: list[PinnedBvec[MaybeWrite]] = []
    pos = 0
    while pos < count:
        reqs.append(get_user_bvec(addr + pos, min(RSIZE, count - pos), FOLL_WRITE if read else 0, owner))
        pos += RSIZE
    return reqs


def nfs_read_done(reqs: list[PinnedBvec[MaybeWrite]], server_file: bytes) -> None:
    """READ replies are copied into the segments; completion releases, dirtying."""
    pos = 0
    for req in reqs:
        for seg in req.for_write():
            seg.write(0, server_file[pos : pos + seg.length])
            pos += seg.length
        put_user_bvec(req, make_dirty=True)


def nfs_write_done(reqs: list[PinnedBvec[MaybeWrite]]) -> bytes:
    """WRITE sends the segments; completion releases."""
    sent = b"".join(seg.read() for req in reqs for seg in req)
    for req in reqs:
        put_user_bvec(req, make_dirty=False)
    return sent


def scenario() -> None:
    with user_buffer("dd iflag=direct", 5) as buf:
        server_file = bytes(range(97)) * 128
        nfs_read_done(nfs_direct_schedule(buf.addr + 512, len(server_file), True, buf.owner), server_file)
        assert buf.mm.read(buf.addr + 512, len(server_file)) == server_file
        assert nfs_write_done(nfs_direct_schedule(buf.addr + 512, 5000, False, buf.owner)) == server_file[:5000]
