// SPDX-License-Identifier: GPL-2.0-only
/*
 * Before: drivers/gpu/drm/etnaviv/etnaviv_gem.c userptr, 2019. Case 2: the
 * GPU writes through an sg table of plain references; the object's release
 * drops its page array with release_pages().
 */
#include "pin.h"

struct etnaviv_gem_object {
	struct page **pages;
	struct sg_table *sgt;
	unsigned long userptr;
	int ro;
	int npages;
};

int etnaviv_gem_userptr_get_pages(struct etnaviv_gem_object *etnaviv_obj, struct page **pvec)
{
	unsigned int gup_flags = etnaviv_obj->ro ? 0 : FOLL_WRITE;
	int npages = etnaviv_obj->npages, pinned = 0;
	struct scatterlist *sg;
	unsigned int i;

	do {
		unsigned long ptr = etnaviv_obj->userptr + pinned * PAGE_SIZE;
		int ret = get_user_pages_fast(ptr, npages - pinned, gup_flags, pvec + pinned);	/* misuse: old-api */

		if (ret < 0) {
			release_pages(pvec, pinned);	/* expect: pin via alias */
			return ret;
		}
		pinned += ret;
	} while (pinned < npages);
	etnaviv_obj->pages = pvec;
	if (sg_alloc_table_from_pages(etnaviv_obj->sgt, pvec, npages, 0, npages * PAGE_SIZE, GFP_KERNEL))
		return -ENOMEM;
	for_each_sg(etnaviv_obj->sgt->sgl, sg, etnaviv_obj->sgt->nents, i)
		memcpy_to_page(sg_page(sg), sg->offset, "gpu", 3);	/* misuse: race */
	return 0;
}

void etnaviv_gem_userptr_release(struct etnaviv_gem_object *etnaviv_obj)
{
	if (etnaviv_obj->sgt)
		sg_free_table(etnaviv_obj->sgt);
	if (etnaviv_obj->pages)
		release_pages(etnaviv_obj->pages, etnaviv_obj->npages);	/* expect: pin via field */
}
