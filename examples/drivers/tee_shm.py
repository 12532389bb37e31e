"""TEE registered shared memory: the secure world (OP-TEE) reads and writes a
user buffer by physical address until the shm is freed.

drivers/tee/tee_shm.c: tee_shm_register() fills ``shm->pages`` with
``get_user_pages_fast(start, num_pages, FOLL_WRITE, ...)``; tee_shm_release()
put_page()s each, undirtied.

Case 2 by lifetime (held until the fd is closed), so here a pin with
FOLL_LONGTERM, dirtied on release since the secure world writes. In 6.12.117
tee_shm_register_user_buf() goes through register_shm_helper(), which takes
the pages with iov_iter_extract_pages() on a destination iterator (so
pin_user_pages_fast() with FOLL_WRITE, no FOLL_LONGTERM), and
release_registered_pages() unpin_user_pages() them, undirtied.

Short result: 5.3 kept ``num_pages = rc`` and put the partial pages on the
error path; all-or-nothing here.
"""

from typing import Final

from pinapi import (
    FOLL_LONGTERM, FOLL_WRITE, PinnedPages, VaddrPin, Write, unpin_user_pages_dirty_lock, vaddr_pin_pages,
)  # fmt: skip

from ._user import dma_write, user_buffer

SUBSYSTEM: Final = "tee"
KERNEL_FILES: Final = ("drivers/tee/tee_shm.c",)
FUNCTIONS: Final = ("tee_shm_register", "tee_shm_release")
CASE: Final = 2
API: Final = "pin+FOLL_LONGTERM"
CONTAINER: Final = "array"
RELEASE: Final = "unpin_user_pages_dirty_lock"
JUDGEMENT: Final = (
    "long-lived, so FOLL_LONGTERM and a dirtying release here; 6.12.117 pins through "
    "iov_iter_extract_pages() without FOLL_LONGTERM and releases undirtied"
)
CHECKED_IN: Final = "v6.12.117"
CHECKED: Final = {
    "drivers/tee/tee_shm.c": ("tee_shm_register_user_buf", "register_shm_helper", "release_registered_pages"),
}


def tee_shm_register(start: int, num_pages: int, owner: VaddrPin) -> PinnedPages[Write]:
    return vaddr_pin_pages(start, num_pages, FOLL_WRITE | FOLL_LONGTERM, owner)


def tee_shm_release(pages: PinnedPages[Write]) -> None:
    unpin_user_pages_dirty_lock(pages, make_dirty=True)


def scenario() -> None:
    with user_buffer("optee client", 2) as buf:
        shm = tee_shm_register(buf.addr, 2, buf.owner)
        dma_write(shm, b"secure world")
        tee_shm_release(shm)
        buf.expect_stamped(b"secure world", range(2))
