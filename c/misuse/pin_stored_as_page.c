// SPDX-License-Identifier: GPL-2.0-only
/*
 * Pins stored where plain pages are expected, so the release that follows
 * looks right: a struct field of struct page pointers, or a plain sg table.
 * The type is what tells a later reader how to release; keep it.
 */
#include "spelling.h"

struct user_buffer {
	struct page **pages;
	int nr_pages;
};

void pins_in_a_field_of_pages(struct user_buffer *ub, unsigned long buf, struct vaddr_pin *owner,
			      struct pinned_page **pins)
{
	if (vaddr_pin_pages(buf, 2, FOLL_WRITE, pins, owner) != 2)
		return;
	ub->pages = pins;	/* misuse: leak */
	ub->nr_pages = 2;
	release_pages(ub->pages, ub->nr_pages);	/* expect: pin via field */
}

void pins_in_a_plain_sg_table(unsigned long buf, struct vaddr_pin *owner)
{
	struct pinned_page *pins[2];
	struct sg_table sgt;
	struct scatterlist *sg;
	unsigned int i;

	if (vaddr_pin_pages(buf, 2, FOLL_WRITE, pins, owner) != 2)
		return;
	if (sg_alloc_table_from_pages(&sgt, pins, 2, 0, 2 * PAGE_SIZE, GFP_KERNEL)) {	/* misuse: leak */
		unpin_user_pages(pins, 2);
		return;
	}
	for_each_sg(sgt.sgl, sg, sgt.orig_nents, i)
		put_page(sg_page(sg));	/* misuse: leak; expect: pin via sg */
	sg_free_table(&sgt);
}
