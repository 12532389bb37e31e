// SPDX-License-Identifier: GPL-2.0-only
/*
 * Before: kernel/futex.c get_futex_key(), 2019. Case 4: only struct page
 * is used, so a plain reference is right. The series' conversion, an
 * unpin of that reference, is the mistake (seed 004's objection).
 */
#include "pin.h"

int get_futex_key(unsigned long address, unsigned long *key)
{
	struct page *page;

	if (get_user_pages_fast(address, 1, FOLL_WRITE, &page) != 1)	/* misuse: old-api */
		return -EFAULT;
	*key = page_to_pfn(page);
	put_page(page);	/* expect: ref */
	return 0;
}

int get_futex_key_as_converted(unsigned long address, unsigned long *key)
{
	struct page *page;

	if (get_user_pages_fast(address, 1, FOLL_WRITE, &page) != 1)	/* misuse: old-api */
		return -EFAULT;
	*key = page_to_pfn(page);
	unpin_user_page(page);	/* misuse: bug */
	return 0;
}
