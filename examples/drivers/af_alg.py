"""AF_ALG receive buffers: a crypto engine (or the CPU) writes the output of
a recvmsg() straight into the caller's pages through an sg list.

crypto/af_alg.c: af_alg_make_sg() takes the iov_iter's pages with
``iov_iter_get_pages(iter, sgl->pages, len, ALG_MAX_PAGES, &off)`` and
sg_set_page()s them; af_alg_get_rsgl() builds the RX SGLs of algif_skcipher
and algif_aead from them; af_alg_free_sg() put_page()s them, never dirtying.

Case 1: short-lived DMA or CPU writes into user pages: a pin. The natural
shape is the iterator's bio_vecs, so ``get_user_bvec()`` and
``put_user_bvec()``, dirtied since the engine wrote. In 6.12.117
af_alg_make_sg() is gone: af_alg_get_rsgl() fills each RX SGL with
extract_iter_to_sg() (pins for a user-backed iterator, which
iov_iter_extract_will_pin() records), and af_alg_free_sg()
unpin_user_page()s every entry, still without dirtying.

Short result: accepted: af_alg_make_sg() takes at most ALG_MAX_PAGES pages and
af_alg_get_rsgl() loops for the rest; each step here is one all-or-nothing
bvec.
"""

from typing import Final

from pinapi import FOLL_WRITE, PAGE_SIZE, PinnedBvec, VaddrPin, Write, get_user_bvec, put_user_bvec

from ._user import user_buffer

SUBSYSTEM: Final = "crypto"
KERNEL_FILES: Final = ("crypto/af_alg.c",)
FUNCTIONS: Final = ("af_alg_make_sg", "af_alg_get_rsgl", "af_alg_free_sg")
CASE: Final = 1
API: Final = "bvec"
CONTAINER: Final = "bvec"
RELEASE: Final = "put_user_bvec"
JUDGEMENT: Final = (
    "the engine writes the RX pages, so their release dirties here; 6.12.117's af_alg_free_sg() unpins "
    "them undirtied"
)
CHECKED_IN: Final = "v6.12.117"
CHECKED: Final = {"crypto/af_alg.c": ("af_alg_get_rsgl", "af_alg_free_sg")}

ALG_MAX_PAGES: Final = 2


def af_alg_make_sg(addr: int, length: int, owner: VaddrPin) -> PinnedBvec[Write]:
    """At most ALG_MAX_PAGES pages' worth of the buffer at *addr*."""
    room = ALG_MAX_PAGES * PAGE_SIZE - addr % PAGE_SIZE
    return get_user_bvec(addr, min(length, room), FOLL_WRITE, owner)


def af_alg_get_rsgl(addr: int, length: int, owner: VaddrPin) -> list[PinnedBvec[Write]]:
    rsgl: list[PinnedBvec[Write]] = []
    while length:
        sgl = af_alg_make_sg(addr, length, owner)
        rsgl.append(sgl)
        addr, length = addr + sgl.length, length - sgl.length
    return rsgl


def skcipher_recvmsg(plaintext: bytes, addr: int, owner: VaddrPin) -> None:
    """Encrypt into the caller's buffer (XOR 0x5a stands in for the cipher)."""
    done = 0
    for sgl in af_alg_get_rsgl(addr, len(plaintext), owner):
        for seg in sgl:
            seg.write(0, bytes(b ^ 0x5A for b in plaintext[done : done + seg.length]))
            done += seg.length
        put_user_bvec(sgl, make_dirty=True)  # af_alg_free_sg()


def scenario() -> None:
    with user_buffer("algif_skcipher", 4) as buf:
        plaintext = bytes(range(256)) * 40  # 10 KiB from an odd offset: three RX SGLs
        skcipher_recvmsg(plaintext, buf.addr + 300, buf.owner)
        got = buf.mm.read(buf.addr + 300, len(plaintext))
        assert bytes(b ^ 0x5A for b in got) == plaintext
        buf.expect_untouched([0])
