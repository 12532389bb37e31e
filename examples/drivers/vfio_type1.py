"""VFIO type1 IOMMU: a guest's or user driver's memory is mapped into the
IOMMU page by page and stays there until VFIO_IOMMU_UNMAP_DMA.

drivers/vfio/vfio_iommu_type1.c: vaddr_get_pfn() takes one page
(``get_user_pages(vaddr, 1, flags | FOLL_LONGTERM)``, or
``get_user_pages_remote()`` for another mm) and keeps only its pfn;
put_pfn() does ``SetPageDirty()`` if the mapping was IOMMU_WRITE, then
``put_page()``.

Case 2: pin with FOLL_LONGTERM, on the mm that owns the range, which need not
be current's. In 6.12.117 vaddr_get_pfns() pins a batch with
pin_user_pages_remote() and FOLL_LONGTERM (FOLL_WRITE for IOMMU_WRITE), and
put_pfn() is ``unpin_user_pages_dirty_lock(&page, 1, prot & IOMMU_WRITE)``;
the model takes one page per call, as 2019's vaddr_get_pfn() did.

Short result: one page per call, so short means failed; nothing to undo.
"""

from typing import Final

from pinapi import (
    FOLL_LONGTERM, FOLL_WRITE, MaybeWrite, PAGE_SIZE, PinnedPage, VaddrPin, unpin_user_pages_dirty_lock, vaddr_pin_pages,
)  # fmt: skip

from ._user import dma_write, user_buffer

SUBSYSTEM: Final = "vfio"
KERNEL_FILES: Final = ("drivers/vfio/vfio_iommu_type1.c",)
FUNCTIONS: Final = ("vaddr_get_pfn", "put_pfn", "vfio_pin_pages_remote")
CASE: Final = 2
API: Final = "pin+FOLL_LONGTERM"
CONTAINER: Final = "single page"
RELEASE: Final = "unpin_user_pages_dirty_lock"
JUDGEMENT: Final = ""
CHECKED_IN: Final = "v6.12.117"
CHECKED: Final = {"drivers/vfio/vfio_iommu_type1.c": ("vaddr_get_pfns", "put_pfn", "vfio_pin_pages_remote")}

IOMMU_READ: Final = 1
IOMMU_WRITE: Final = 2


def vaddr_get_pfn(dma_owner: VaddrPin, vaddr: int, prot: int) -> PinnedPage[MaybeWrite]:
    flags = FOLL_LONGTERM | FOLL_WRITE if prot & IOMMU_WRITE else FOLL_LONGTERM
    return vaddr_pin_pages(vaddr, 1, flags, dma_owner)[0]


def put_pfn(page: PinnedPage[MaybeWrite], prot: int) -> None:
    unpin_user_pages_dirty_lock([page], make_dirty=bool(prot & IOMMU_WRITE))


def scenario() -> None:
    with user_buffer("vfio user", 4) as buf:
        prot = IOMMU_READ | IOMMU_WRITE
        iova_map = [vaddr_get_pfn(buf.owner, buf.addr + i * PAGE_SIZE, prot) for i in range(4)]
        dma_write([p.for_write() for p in iova_map], b"iova")
        for page in iova_map:
            put_pfn(page, prot)
        buf.expect_stamped(b"iova", range(4))
