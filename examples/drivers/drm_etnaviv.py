"""etnaviv GEM userptr objects: the GPU reads and writes a user buffer for the
object's whole life.

drivers/gpu/drm/etnaviv/etnaviv_gem.c: etnaviv_gem_userptr_get_pages() fills a
page array (``get_user_pages_fast()`` in a loop, FOLL_WRITE unless read-only),
turns it into an sg table for the GPU's DMA, and
etnaviv_gem_userptr_release() drops the array with ``release_pages()``.

Case 2: long-lived DMA with no MMU notifier, so a pin with FOLL_LONGTERM,
where the kernel went: in 6.12.117 etnaviv_gem_userptr_get_pages() loops
pin_user_pages_fast() with FOLL_LONGTERM (FOLL_WRITE unless read-only, no
FOLL_FORCE). Its release, etnaviv_gem_userptr_release(), is
unpin_user_pages(), undirtied as in 2019; the GPU writes the pages, so the
release here dirties what a writable object may have been written.

Short result: the kernel loop re-asks for the rest and on error releases
what it has. ``vaddr_pin_pages()`` is all or nothing, so one call either
pins the object or raises with nothing held.
"""

from typing import Final

from pinapi import (
    FOLL_LONGTERM, FOLL_WRITE, MaybeWrite, PAGE_SIZE, PinnedPage, PinnedPages, SgTable, VaddrPin,
    for_each_sg, sg_alloc_table_from_pages, sg_free_table, sg_page, unpin_user_pages_dirty_lock,
    vaddr_pin_pages,
)  # fmt: skip

from ._user import stamp, user_buffer

SUBSYSTEM: Final = "drm/etnaviv"
KERNEL_FILES: Final = ("drivers/gpu/drm/etnaviv/etnaviv_gem.c",)
FUNCTIONS: Final = ("etnaviv_gem_userptr_get_pages", "etnaviv_gem_userptr_release")
CASE: Final = 2
API: Final = "pin+FOLL_LONGTERM"
CONTAINER: Final = "scatterlist"
RELEASE: Final = "unpin_user_pages_dirty_lock"
JUDGEMENT: Final = "the GPU writes a writable object, so its release dirties here; 6.12.117 unpins it undirtied"
CHECKED_IN: Final = "v6.12.117"
CHECKED: Final = {
    "drivers/gpu/drm/etnaviv/etnaviv_gem.c": ("etnaviv_gem_userptr_get_pages", "etnaviv_gem_userptr_release"),
}


class UserptrObject:
    """``struct etnaviv_gem_object`` of a userptr: its pins and its sg table."""

    def __init__(self, ptr: int, nr_pages: int, ro: bool, owner: VaddrPin) -> None:
        flags = FOLL_LONGTERM if ro else FOLL_LONGTERM | FOLL_WRITE
        self.ro = ro
        self.pages: PinnedPages[MaybeWrite] = vaddr_pin_pages(ptr, nr_pages, flags, owner)
        self.sgt: SgTable[PinnedPage[MaybeWrite]] = sg_alloc_table_from_pages(self.pages, 0, nr_pages * PAGE_SIZE)

    def release(self) -> None:
        """etnaviv_gem_userptr_release(): free the table, unpin the array."""
        sg_free_table(self.sgt)
        unpin_user_pages_dirty_lock(self.pages, make_dirty=not self.ro)


def scenario() -> None:
    with user_buffer("etnaviv", 4) as buf:
        obj = UserptrObject(buf.addr, 4, ro=False, owner=buf.owner)
        for i, sg in enumerate(for_each_sg(obj.sgt)):
            sg_page(sg).for_write().write(sg.offset, stamp(b"gpu", i))
        obj.release()
        buf.expect_stamped(b"gpu", range(4))
