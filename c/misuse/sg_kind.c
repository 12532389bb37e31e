// SPDX-License-Identifier: GPL-2.0-only
/*
 * An sg table filled with, or taken back as, another kind than it holds: a
 * pin set into a table of plain pages, a read pin into a table the device
 * writes, a table of pins kept behind a void * and taken back as a plain
 * one. In C a table's declaration names its kind (under (c) struct
 * pinned_sg_table for write pins, struct pinned_read_sg_table for read
 * pins, struct sg_table for plain pages); a void * names none, and converts
 * to any of them in every variant.
 */
#include "spelling.h"

void pin_into_a_table_of_pages(unsigned long buf, struct vaddr_pin *owner)
{
	struct pinned_page *pins[1];
	struct sg_table sgt;
	struct scatterlist *sg;
	unsigned int i;

	if (vaddr_pin_pages(buf, 1, FOLL_WRITE, pins, owner) != 1)
		return;
	if (sg_alloc_table(&sgt, 1, GFP_KERNEL)) {
		unpin_user_page(pins[0]);
		return;
	}
	sg_set_page(sgt.sgl, pins[0], PAGE_SIZE, 0);	/* misuse: leak */
	for_each_sg(sgt.sgl, sg, sgt.orig_nents, i)
		put_page(sg_page(sg));	/* expect: pin via sg */
	sg_free_table(&sgt);
}

void read_pin_into_a_table_of_write_pins(struct device *dev, unsigned long buf, struct vaddr_pin *owner)
{
	struct pinned_page __read_pin *pins[1];
	struct pinned_sg_table sgt;
	struct pinned_scatterlist *sg;
	unsigned int i;

	if (vaddr_pin_pages(buf, 1, 0, pins, owner) != 1)
		return;
	if (sg_alloc_table(&sgt, 1, GFP_KERNEL)) {
		unpin_user_page(pins[0]);
		return;
	}
	sg_set_pinned_page(sgt.sgl, pins[0], PAGE_SIZE, 0);	/* misuse: corrupt */
	if (!dma_map_sgtable(dev, &sgt, DMA_FROM_DEVICE, 0))
		dma_unmap_sgtable(dev, &sgt, DMA_FROM_DEVICE, 0);
	for_each_sg(sgt.sgl, sg, sgt.orig_nents, i)
		unpin_user_page(sg_pinned_page(sg));
	sg_free_table(&sgt);
}

struct dma_attachment {
	void *priv;	/* the exporter's table */
};

void a_table_of_pins_kept_behind_void(struct dma_attachment *attach, unsigned long buf,
				      struct vaddr_pin *owner, struct pinned_sg_table *pinned)
{
	struct pinned_page *pins[2];
	struct sg_table *sgt;
	struct scatterlist *sg;
	unsigned int i;

	if (vaddr_pin_pages(buf, 2, FOLL_WRITE, pins, owner) != 2)
		return;
	if (sg_alloc_table_from_pinned_pages(pinned, pins, 2, 0, 2 * PAGE_SIZE, GFP_KERNEL)) {
		unpin_user_pages(pins, 2);
		return;
	}
	attach->priv = pinned;
	sgt = attach->priv;	/* misuse: leak */
	for_each_sg(sgt->sgl, sg, sgt->orig_nents, i)
		put_page(sg_page(sg));	/* expect: pin via sg */
	sg_free_table(sgt);
}
