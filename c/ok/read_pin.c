// SPDX-License-Identifier: GPL-2.0-only
/*
 * A read pin: the device only reads the user's pages (a write(2) with
 * O_DIRECT, a crypto source buffer). No FOLL_WRITE, so the pins are
 * declared read pins, read through, mapped to the device, and released
 * clean.
 */
#include "spelling.h"

void send(unsigned long buf, struct vaddr_pin *owner, char *out)
{
	struct pinned_page __read_pin *pins[2];

	if (vaddr_pin_pages(buf, 2, 0, pins, owner) != 2)
		return;
	memcpy_from_pinned_page(out, pins[0], 0, 8);
	memcpy_from_pinned_page(out + 8, pins[1], 0, 8);
	unpin_user_pages_dirty_lock(pins, 2, false);
}

void send_bvec(unsigned long buf, struct vaddr_pin *owner, char *out)
{
	struct pinned_read_bio_vec bv[1];

	if (get_user_bvec(buf, 8, 0, bv, 1, owner) != 1)
		return;
	memcpy_from_pinned_page(out, bv[0].bv_page, bv[0].bv_offset, 8);
	put_user_bvec(bv, 1, false);
}

int send_sg(struct device *dev, unsigned long buf, struct vaddr_pin *owner)
{
	struct pinned_page __read_pin *pins[2];
	struct pinned_read_sg_table sgt;
	struct pinned_read_scatterlist *sg;
	unsigned int i;
	int ret;

	if (vaddr_pin_pages(buf, 2, FOLL_LONGTERM, pins, owner) != 2)
		return -EFAULT;
	if (sg_alloc_table_from_pinned_pages(&sgt, pins, 2, 0, 2 * PAGE_SIZE, GFP_KERNEL)) {
		vaddr_unpin_pages_dirty_lock(pins, 2, owner, false);
		return -ENOMEM;
	}
	ret = dma_map_sgtable(dev, &sgt, DMA_TO_DEVICE, 0);
	if (!ret)
		dma_unmap_sgtable(dev, &sgt, DMA_TO_DEVICE, 0);
	for_each_sg(sgt.sgl, sg, sgt.orig_nents, i)
		unpin_user_page(sg_pinned_page(sg));
	sg_free_table(&sgt);
	return ret;
}
