// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unpinning a plain reference: get_user_pages_remote() references and
 * kernel pages are not pins, and unpinning one subtracts a pin's worth of
 * references nobody added. Drop a plain reference with put_page().
 */
#include "spelling.h"

void unpin_user_page_on_a_plain_page(struct mm_struct *mm, unsigned long buf)
{
	struct page *page;

	if (get_user_pages_remote(mm, buf, 1, 0, &page, NULL) != 1)
		return;
	unpin_user_page(page);	/* misuse: bug */
}

void unpin_user_pages_on_plain_pages(struct mm_struct *mm, unsigned long buf)
{
	struct page *pages[4];

	if (get_user_pages_remote(mm, buf, 4, 0, pages, NULL) != 4)
		return;
	unpin_user_pages(pages, 4);	/* misuse: bug */
}

void unpin_dirty_on_plain_pages(struct mm_struct *mm, unsigned long buf)
{
	struct page *pages[2];

	if (get_user_pages_remote(mm, buf, 2, 0, pages, NULL) != 2)
		return;
	unpin_user_pages_dirty_lock(pages, 2, true);	/* misuse: bug */
}

void vaddr_unpin_on_plain_pages(struct mm_struct *mm, unsigned long buf, struct vaddr_pin *owner)
{
	struct page *pages[2];

	if (get_user_pages_remote(mm, buf, 2, 0, pages, NULL) != 2)
		return;
	vaddr_unpin_pages_dirty_lock(pages, 2, owner, false);	/* misuse: bug */
}

void unpin_a_plain_page_out_of_an_sg_table(struct mm_struct *mm, unsigned long buf)
{
	struct page *pages[2];
	struct sg_table sgt;
	struct scatterlist *sg;
	unsigned int i;

	if (get_user_pages_remote(mm, buf, 2, 0, pages, NULL) != 2)
		return;
	if (sg_alloc_table_from_pages(&sgt, pages, 2, 0, 2 * PAGE_SIZE, GFP_KERNEL)) {
		release_pages(pages, 2);	/* expect: ref */
		return;
	}
	for_each_sg(sgt.sgl, sg, sgt.orig_nents, i)
		unpin_user_page(sg_page(sg));	/* misuse: bug */
	sg_free_table(&sgt);
}

void unpin_a_kernel_page(void)
{
	struct page *page = alloc_page(GFP_KERNEL);

	if (!page)
		return;
	unpin_user_page(page);	/* misuse: bug */
}
