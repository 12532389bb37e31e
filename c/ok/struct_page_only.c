// SPDX-License-Identifier: GPL-2.0-only
/*
 * Cases 3 and 4: code that touches only struct page takes plain
 * references, keeps them in their own sg table, and drops them with
 * put_page() (seed 004's munlock).
 */
#include "spelling.h"

int munlock_range(struct mm_struct *mm, unsigned long start)
{
	struct page *pages[4];
	int pinned = 0, i;

	if (get_user_pages_remote(mm, start, 4, 0, pages, NULL) != 4)
		return -EFAULT;
	for (i = 0; i < 4; i++)
		pinned += folio_maybe_dma_pinned(page_folio(pages[i]));
	release_pages(pages, 4);	/* expect: ref */
	return pinned;
}

void dirty_one(struct mm_struct *mm, unsigned long addr)
{
	struct page *page;

	if (get_user_pages_remote(mm, addr, 1, 0, &page, NULL) != 1)
		return;
	set_page_dirty_lock(page);
	put_page(page);	/* expect: ref */
}

void plain_sg_table(struct mm_struct *mm, unsigned long start)
{
	struct page *pages[2];
	struct sg_table sgt;
	struct scatterlist *sg;
	unsigned int i;

	if (get_user_pages_remote(mm, start, 2, 0, pages, NULL) != 2)
		return;
	if (sg_alloc_table(&sgt, 2, GFP_KERNEL)) {
		release_pages(pages, 2);	/* expect: ref */
		return;
	}
	for_each_sg(sgt.sgl, sg, sgt.orig_nents, i)
		sg_set_page(sg, pages[i], PAGE_SIZE, 0);
	for_each_sg(sgt.sgl, sg, sgt.orig_nents, i)
		put_page(sg_page(sg));	/* expect: ref via sg */
	sg_free_table(&sgt);
}
