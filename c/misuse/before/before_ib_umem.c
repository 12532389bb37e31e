// SPDX-License-Identifier: GPL-2.0-only
/*
 * Before: drivers/infiniband/core/umem.c ib_umem_get() / __ib_umem_release(),
 * 2019. Case 2: FOLL_LONGTERM on plain references, chunks appended to the
 * umem's sg table; the release walks the table.
 */
#include "pin.h"

struct ib_umem {
	struct sg_table sg_head;
	int writable;
	int sg_nents;
};

void __ib_umem_release(struct ib_umem *umem, int dirty)
{
	struct scatterlist *sg;
	unsigned int i;

	for_each_sg(umem->sg_head.sgl, sg, umem->sg_nents, i) {
		if (umem->writable && dirty)
			set_page_dirty_lock(sg_page(sg));
		put_page(sg_page(sg));	/* expect: pin via sg */
	}
	sg_free_table(&umem->sg_head);
}

int ib_umem_get(struct ib_umem *umem, unsigned long addr, unsigned long npages,
		struct page **page_list)
{
	unsigned int gup_flags = FOLL_WRITE | FOLL_LONGTERM;
	struct scatterlist *sg;
	unsigned int i;
	long ret;

	if (sg_alloc_table(&umem->sg_head, npages, GFP_KERNEL))
		return -ENOMEM;
	sg = umem->sg_head.sgl;
	while (npages) {
		unsigned long chunk = npages < PAGE_SIZE / sizeof(struct page *) ?
				      npages : PAGE_SIZE / sizeof(struct page *);

		ret = get_user_pages(addr, chunk, gup_flags, page_list);	/* misuse: einval */
		if (ret < 0)
			goto umem_release;
		for (i = 0; i < ret; i++) {
			sg_set_page(sg, page_list[i], PAGE_SIZE, 0);
			sg = sg_next(sg);
			umem->sg_nents++;
		}
		addr += ret * PAGE_SIZE;
		npages -= ret;
	}
	for_each_sg(umem->sg_head.sgl, sg, umem->sg_nents, i)
		memcpy_to_page(sg_page(sg), 0, "RDMA write", 10);	/* misuse: race */
	return 0;
umem_release:
	__ib_umem_release(umem, 0);
	return ret;
}
