"""libceph page vectors: arrays of pages an OSD request reads into or writes
from.

net/ceph/pagevec.c: ceph_put_page_vector() ``set_page_dirty_lock()``s each
page if asked, put_page()s it and frees the array. In 5.3 no GUP call was left
in this file (ceph_get_direct_page_vector() had just been removed; ceph direct
I/O used bvecs in fs/ceph/file.c), so the pages it releases are page-cache
pages the read path looked up, not GUP'd ones.

Case 4 (struct page only: dirty and drop), so a plain reference: the series'
conversion of this helper to put_user_pages() would have been wrong, and the
kernel kept put_page(): in 6.12.117 the file still has no GUP call and
ceph_put_page_vector() still set_page_dirty_lock()s (if asked) and
put_page()s each page. The model takes the references with
``get_user_pages_remote()``, as the read path's lookup would.

Short result: a partial vector is released as it is.
"""

from typing import Final

from pinapi import MM, Page, get_user_pages_remote, put_page, set_page_dirty_lock

from ._user import user_buffer

SUBSYSTEM: Final = "net/ceph"
KERNEL_FILES: Final = ("net/ceph/pagevec.c",)
FUNCTIONS: Final = ("ceph_put_page_vector",)
CASE: Final = 4
API: Final = "plain reference"
CONTAINER: Final = "pagevec"
RELEASE: Final = "put_page"
JUDGEMENT: Final = "no GUP left in 5.3: the pages are not GUP'd, so put_user_pages() was wrong here"
CHECKED_IN: Final = "v6.12.117"
CHECKED: Final = {"net/ceph/pagevec.c": ("ceph_put_page_vector",)}


def ceph_put_page_vector(pages: list[Page], dirty: bool) -> None:
    for page in pages:
        if dirty:
            set_page_dirty_lock(page)
        put_page(page)
    pages.clear()  # kvfree(pages)


def start_read(mm: MM, addr: int, nr_pages: int) -> list[Page]:
    """The pages an OSD read fills, looked up with references."""
    return get_user_pages_remote(mm, addr, nr_pages, 0)


def scenario() -> None:
    with user_buffer("ceph", 3) as buf:
        pages = start_read(buf.mm, buf.addr, 3)
        assert len(pages) == 3
        ceph_put_page_vector(pages, dirty=True)
        partial = start_read(buf.mm, buf.page(2), 4)  # runs past the mapping
        assert len(partial) == 1
        ceph_put_page_vector(partial, dirty=False)
        buf.expect_untouched(range(3))
