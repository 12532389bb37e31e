// SPDX-License-Identifier: GPL-2.0-only
/*
 * Calling get_user_pages(): plain references on the current mm, the call
 * the rename removes. Touching page data takes vaddr_pin_pages(); code that
 * only manipulates struct page says so with get_user_pages_remote().
 */
#include "spelling.h"

void call_get_user_pages(unsigned long buf)
{
	struct page *pages[1];

	if (get_user_pages(buf, 1, 0, pages) == 1)	/* misuse: old-api */
		put_page(pages[0]);	/* expect: ref */
}
