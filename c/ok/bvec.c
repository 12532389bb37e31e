// SPDX-License-Identifier: GPL-2.0-only
/*
 * get_user_bvec(): pin a byte range as bio_vec segments, write through
 * them, release the whole bvec once with put_user_bvec().
 */
#include "spelling.h"

long dma_into(unsigned long addr, unsigned long length, struct vaddr_pin *owner)
{
	struct pinned_bio_vec bv[4];
	long nr, i;

	nr = get_user_bvec(addr, length, FOLL_WRITE, bv, 4, owner);
	if (nr <= 0)
		return nr;
	for (i = 0; i < nr; i++)
		memcpy_to_pinned_page(bv[i].bv_page, bv[i].bv_offset, "segment", 7);
	put_user_bvec(bv, nr, true);
	return nr;
}
