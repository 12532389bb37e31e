// SPDX-License-Identifier: GPL-2.0-only
/*
 * unpin_user_page*() on a bvec's segments: they are not per-page pins, and
 * one segment's pin may cover a huge page; unpinning its first page drops
 * one of them. A bvec is released only by put_user_bvec().
 */
#include "spelling.h"

void unpin_user_pages_on_a_bvec(unsigned long buf, struct vaddr_pin *owner)
{
	struct pinned_bio_vec bv[2];
	struct pinned_page *pages[2];
	long nr, i;

	nr = get_user_bvec(buf, 2 * PAGE_SIZE, FOLL_WRITE, bv, 2, owner);
	if (nr <= 0)
		return;
	for (i = 0; i < nr; i++)
		pages[i] = bv[i].bv_page;	/* misuse: leak */
	unpin_user_pages(pages, nr);
}

void unpin_dirty_on_a_segment(unsigned long buf, struct vaddr_pin *owner)
{
	struct pinned_bio_vec bv[1];

	if (get_user_bvec(buf, PAGE_SIZE, FOLL_WRITE, bv, 1, owner) != 1)
		return;
	unpin_user_pages_dirty_lock(&bv[0].bv_page, 1, true);	/* misuse: leak */
}

void unpin_user_page_on_a_segment(unsigned long buf, struct vaddr_pin *owner)
{
	struct pinned_bio_vec bv[1];

	if (get_user_bvec(buf, PAGE_SIZE, FOLL_WRITE, bv, 1, owner) != 1)
		return;
	unpin_user_page(bv[0].bv_page);	/* misuse: leak */
}
