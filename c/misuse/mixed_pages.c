// SPDX-License-Identifier: GPL-2.0-only
/*
 * One array or sg table mixing pinned and plain pages: no release is right
 * for all of it. Keep pins and plain references apart; a table holds one
 * kind.
 */
#include "spelling.h"

void unpin_a_mixed_array(struct mm_struct *mm, unsigned long buf, struct vaddr_pin *owner)
{
	struct page *plain;
	struct pinned_page *pins[1];
	struct pinned_page *mixed[2];

	if (get_user_pages_remote(mm, buf, 1, 0, &plain, NULL) != 1)
		return;
	if (vaddr_pin_pages(buf + PAGE_SIZE, 1, FOLL_WRITE, pins, owner) == 1) {
		mixed[0] = pins[0];
		mixed[1] = plain;	/* misuse: bug */
		unpin_user_pages(mixed, 2);
	}
}

void release_a_mixed_array(struct mm_struct *mm, unsigned long buf, struct vaddr_pin *owner)
{
	struct page *plain;
	struct pinned_page *pins[1];
	struct page *mixed[2];

	if (get_user_pages_remote(mm, buf, 1, 0, &plain, NULL) != 1)
		return;
	if (vaddr_pin_pages(buf + PAGE_SIZE, 1, FOLL_WRITE, pins, owner) != 1) {
		put_page(plain);	/* expect: ref */
		return;
	}
	mixed[0] = plain;
	mixed[1] = pins[0];	/* misuse: leak */
	release_pages(mixed, 2);	/* expect: pin via alias */
}

void sg_table_from_mixed_pages(struct mm_struct *mm, unsigned long buf, struct vaddr_pin *owner)
{
	struct page *plain;
	struct pinned_page *pins[1];
	struct pinned_sg_table sgt;
	struct pinned_scatterlist *sg;
	unsigned int i;

	if (get_user_pages_remote(mm, buf, 1, 0, &plain, NULL) != 1)
		return;
	if (vaddr_pin_pages(buf + PAGE_SIZE, 1, FOLL_WRITE, pins, owner) == 1) {
		struct pinned_page *both[2] = { pins[0], plain };	/* misuse: bug */

		if (sg_alloc_table_from_pinned_pages(&sgt, both, 2, 0, 2 * PAGE_SIZE, GFP_KERNEL) == 0) {
			for_each_sg(sgt.sgl, sg, sgt.orig_nents, i)
				unpin_user_page(sg_pinned_page(sg));
			sg_free_table(&sgt);
		}
	}
}

void plain_page_into_a_pinned_table(struct mm_struct *mm, unsigned long buf, struct vaddr_pin *owner)
{
	struct page *plain;
	struct pinned_page *pins[2];
	struct pinned_sg_table sgt;
	struct pinned_scatterlist *sg;
	unsigned int i;

	if (get_user_pages_remote(mm, buf, 1, 0, &plain, NULL) != 1)
		return;
	if (vaddr_pin_pages(buf + PAGE_SIZE, 2, FOLL_WRITE, pins, owner) == 2 &&
	    sg_alloc_table_from_pinned_pages(&sgt, pins, 2, 0, 2 * PAGE_SIZE, GFP_KERNEL) == 0) {
		sg_set_page(sgt.sgl, plain, PAGE_SIZE, 0);	/* misuse: bug */
		for_each_sg(sgt.sgl, sg, sgt.orig_nents, i)
			unpin_user_page(sg_pinned_page(sg));
		sg_free_table(&sgt);
	}
}

void pin_into_a_table_of_plain_pages(struct mm_struct *mm, unsigned long buf, struct vaddr_pin *owner)
{
	struct page *plain;
	struct pinned_page *pins[1];
	struct sg_table sgt;
	struct scatterlist *sg;
	unsigned int i;

	if (get_user_pages_remote(mm, buf, 1, 0, &plain, NULL) != 1)
		return;
	if (vaddr_pin_pages(buf + PAGE_SIZE, 1, FOLL_WRITE, pins, owner) == 1 &&
	    sg_alloc_table(&sgt, 2, GFP_KERNEL) == 0) {
		sg_set_page(sgt.sgl, plain, PAGE_SIZE, 0);
		sg_set_page(sg_next(sgt.sgl), pins[0], PAGE_SIZE, 0);	/* misuse: leak */
		for_each_sg(sgt.sgl, sg, sgt.orig_nents, i)
			put_page(sg_page(sg));	/* expect: pin via sg */
		sg_free_table(&sgt);
	}
}
