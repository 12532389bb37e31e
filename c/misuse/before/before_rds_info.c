// SPDX-License-Identifier: GPL-2.0-only
/*
 * Before: net/rds/info.c rds_info_getsockopt(), 2019. Case 5: the kernel
 * writes socket info into plain references and puts them, never dirtied.
 */
#include "pin.h"

int rds_info_getsockopt(unsigned long start, int len, struct page **pages)
{
	int nr_pages = (((start + len + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)) - (start & ~(PAGE_SIZE - 1))) >> PAGE_SHIFT;
	int ret, i;

	ret = get_user_pages_fast(start, nr_pages, FOLL_WRITE, pages);	/* misuse: old-api */
	if (ret != nr_pages) {
		if (ret > 0)
			nr_pages = ret;
		else
			nr_pages = 0;
		ret = -11;
		goto out;
	}
	memcpy_to_page(pages[0], start & (PAGE_SIZE - 1), "conn 10.0.0.1", 13);	/* misuse: race */
	ret = 0;
out:
	for (i = 0; i < nr_pages; i++)
		put_page(pages[i]);	/* expect: pin */
	return ret;
}
