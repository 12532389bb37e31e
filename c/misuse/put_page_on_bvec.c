// SPDX-License-Identifier: GPL-2.0-only
/*
 * put_page() (or release_pages()) on a bvec segment's page: a segment is
 * not a page reference, and a 2 MiB segment holds its run's pins at once.
 * A bvec is released only as a whole: put_user_bvec(bv, nr, make_dirty).
 */
#include "spelling.h"

void put_page_on_a_segment(unsigned long buf, struct vaddr_pin *owner)
{
	struct pinned_bio_vec bv[2];

	if (get_user_bvec(buf, 2 * PAGE_SIZE, FOLL_WRITE, bv, 2, owner) <= 0)
		return;
	put_page(bv[0].bv_page);	/* misuse: leak; expect: pin */
}

void release_pages_on_a_bvec(unsigned long buf, struct vaddr_pin *owner)
{
	struct pinned_bio_vec bv[2];
	struct page *pages[2];
	long nr, i;

	nr = get_user_bvec(buf, 2 * PAGE_SIZE, FOLL_WRITE, bv, 2, owner);
	if (nr <= 0)
		return;
	for (i = 0; i < nr; i++)
		pages[i] = bv[i].bv_page;	/* misuse: leak */
	release_pages(pages, nr);	/* expect: pin via alias */
}

void put_page_after_an_sg_round_trip(unsigned long buf, struct vaddr_pin *owner)
{
	struct pinned_bio_vec bv[2];
	struct sg_table sgt;
	struct scatterlist *sg;
	long nr;
	unsigned int i;

	nr = get_user_bvec(buf, 2 * PAGE_SIZE, FOLL_WRITE, bv, 2, owner);
	if (nr <= 0 || sg_alloc_table(&sgt, nr, GFP_KERNEL))
		return;
	for_each_sg(sgt.sgl, sg, sgt.orig_nents, i)
		sg_set_page(sg, bv[i].bv_page, bv[i].bv_len, bv[i].bv_offset);	/* misuse: leak */
	for_each_sg(sgt.sgl, sg, sgt.orig_nents, i)
		put_page(sg_page(sg));	/* misuse: leak; expect: pin via sg */
	sg_free_table(&sgt);
}
