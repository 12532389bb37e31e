// SPDX-License-Identifier: GPL-2.0-only
/*
 * Case 2, RDMA: a long-term pin registered for the life of a memory region,
 * handed to the device through a scatterlist that keeps the pin type.
 */
#include "spelling.h"

struct ib_umem {
	struct pinned_sg_table sgt;
	struct device *dev;
};

int ib_umem_get(struct ib_umem *umem, unsigned long addr, struct vaddr_pin *owner,
		struct pinned_page **pins, unsigned long nr_pages)
{
	if (vaddr_pin_pages(addr, nr_pages, FOLL_WRITE | FOLL_LONGTERM, pins, owner) != nr_pages)
		return -EFAULT;
	if (sg_alloc_table_from_pinned_pages(&umem->sgt, pins, nr_pages, 0, nr_pages * PAGE_SIZE,
					     GFP_KERNEL)) {
		unpin_user_pages(pins, nr_pages);
		return -ENOMEM;
	}
	return dma_map_sgtable(umem->dev, &umem->sgt, DMA_BIDIRECTIONAL, 0);
}

void ib_umem_release(struct ib_umem *umem)
{
	struct pinned_scatterlist *sg;
	unsigned int i;

	dma_unmap_sgtable(umem->dev, &umem->sgt, DMA_BIDIRECTIONAL, 0);
	for_each_sg(umem->sgt.sgl, sg, umem->sgt.orig_nents, i)
		unpin_user_page(sg_pinned_page(sg));
	sg_free_table(&umem->sgt);
}
