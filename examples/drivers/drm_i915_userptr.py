"""i915 userptr objects: the GPU reads and writes a user buffer through an sg
table while the object has pages; an MMU notifier revokes it on invalidate.

drivers/gpu/drm/i915/gem/i915_gem_userptr.c: i915_gem_userptr_get_pages()
tries ``__get_user_pages_fast()`` and falls back to a worker
(__i915_gem_userptr_get_pages_worker) doing ``get_user_pages_remote()``;
__i915_gem_userptr_alloc_pages() builds the sg table;
i915_gem_userptr_put_pages() walks it: ``set_page_dirty()``,
``mark_page_accessed()``, ``put_page()``.

Case 3 in 2019 (the notifier), yet the device writes page data and the driver
dirties it, which the contract gives only to a pin. The kernel agrees: in
6.12.117 the worker is gone, i915_gem_object_userptr_submit_init() loops
pin_user_pages_fast() without FOLL_LONGTERM under an mmu_interval_notifier,
i915_gem_userptr_put_pages() set_page_dirty()s (under trylock_page()) and
marks each page accessed, and the last i915_gem_object_userptr_drop_ref()
unpin_user_pages() them. So here: a pin, released on invalidate or
put_pages, dirtied.

Short result: a short fast GUP falls back to the worker; an error path
release_pages()'d the pages. Here a failed pin leaves nothing.
"""

from typing import Final

from pinapi import (
    FOLL_WRITE, MaybeWrite, PAGE_SIZE, PinnedPage, PinnedPages, SgTable, VaddrPin, for_each_sg,
    sg_alloc_table_from_pages, sg_free_table, sg_page, unpin_user_page, unpin_user_pages_dirty_lock,
    vaddr_pin_pages,
)  # fmt: skip

from ._user import stamp, user_buffer

SUBSYSTEM: Final = "drm/i915"
KERNEL_FILES: Final = ("drivers/gpu/drm/i915/gem/i915_gem_userptr.c",)
FUNCTIONS: Final = ("i915_gem_userptr_get_pages", "__i915_gem_userptr_get_pages_worker", "i915_gem_userptr_put_pages")
CASE: Final = 1
API: Final = "pin"
CONTAINER: Final = "scatterlist"
RELEASE: Final = "unpin_user_pages_dirty_lock"
JUDGEMENT: Final = (
    "case 3 in 2019 (MMU notifier), but the GPU writes data: pinned without FOLL_LONGTERM, as in 6.12.117"
)
CHECKED_IN: Final = "v6.12.117"
CHECKED: Final = {
    "drivers/gpu/drm/i915/gem/i915_gem_userptr.c": (
        "i915_gem_object_userptr_submit_init", "i915_gem_userptr_put_pages", "i915_gem_object_userptr_drop_ref",
    ),
}


class UserptrObject:
    def __init__(self, ptr: int, nr_pages: int, readonly: bool, owner: VaddrPin) -> None:
        self.readonly = readonly
        self.pvec: PinnedPages[MaybeWrite] = vaddr_pin_pages(ptr, nr_pages, 0 if readonly else FOLL_WRITE, owner)
        pages = sg_alloc_table_from_pages(self.pvec, 0, nr_pages * PAGE_SIZE)
        self.pages: SgTable[PinnedPage[MaybeWrite]] | None = pages

    def i915_gem_userptr_put_pages(self) -> None:
        """Also what the MMU notifier's invalidate ends in."""
        if self.pages is None:
            return
        for sg in for_each_sg(self.pages):
            page = sg_page(sg)
            if self.readonly:
                unpin_user_page(page)
            else:
                unpin_user_pages_dirty_lock([page], make_dirty=True)
        sg_free_table(self.pages)
        self.pages = None


def scenario() -> None:
    with user_buffer("i915", 2) as buf:
        obj = UserptrObject(buf.addr, 2, readonly=False, owner=buf.owner)
        assert obj.pages is not None
        for i, sg in enumerate(for_each_sg(obj.pages)):
            sg_page(sg).for_write().write(0, stamp(b"render", i))
        obj.i915_gem_userptr_put_pages()  # mmu notifier invalidate
        obj.i915_gem_userptr_put_pages()  # then the object's own put_pages: nothing left
        buf.expect_stamped(b"render", range(2))
