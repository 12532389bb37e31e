// SPDX-License-Identifier: GPL-2.0-only
/*
 * A pin put with put_page() after a round trip through a scatterlist, the
 * 2019 objection: pages go into an sg table and come back through
 * sg_page(). A table of pins must give back pins; use unpin_user_page().
 */
#include "spelling.h"

void put_page_after_sg_page(unsigned long buf, struct vaddr_pin *owner)
{
	struct pinned_page *pins[4];
	struct pinned_sg_table sgt;
	struct pinned_scatterlist *sg;
	unsigned int i;

	if (vaddr_pin_pages(buf, 4, FOLL_WRITE, pins, owner) != 4)
		return;
	if (sg_alloc_table_from_pinned_pages(&sgt, pins, 4, 0, 4 * PAGE_SIZE, GFP_KERNEL)) {
		unpin_user_pages(pins, 4);
		return;
	}
	for_each_sg(sgt.sgl, sg, sgt.orig_nents, i)
		put_page(sg_page(sg));	/* misuse: leak; expect: pin via sg */
	sg_free_table(&sgt);
}

void release_pages_from_an_sg_table(unsigned long buf, struct vaddr_pin *owner)
{
	struct pinned_page *pins[4];
	struct page *pages[4];
	struct pinned_sg_table sgt;
	struct pinned_scatterlist *sg;
	unsigned int i;

	if (vaddr_pin_pages(buf, 4, FOLL_WRITE, pins, owner) != 4)
		return;
	if (sg_alloc_table_from_pinned_pages(&sgt, pins, 4, 0, 4 * PAGE_SIZE, GFP_KERNEL)) {
		unpin_user_pages(pins, 4);
		return;
	}
	for_each_sg(sgt.sgl, sg, sgt.orig_nents, i)
		pages[i] = sg_page(sg);	/* misuse: leak */
	release_pages(pages, sgt.orig_nents);	/* misuse: leak; expect: pin via sg */
	sg_free_table(&sgt);
}
