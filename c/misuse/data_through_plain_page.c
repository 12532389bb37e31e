// SPDX-License-Identifier: GPL-2.0-only
/*
 * Touching a page's data through a plain reference (pin_user_pages.rst
 * case 5), the bug pins were made for: writeback cannot see the access.
 * C has one struct page for a kernel page and a GUP reference, so no
 * variant can tell; pin with vaddr_pin_pages() and write through the pin.
 */
#include "spelling.h"

void memcpy_to_a_plain_page(struct mm_struct *mm, unsigned long buf)
{
	struct page *page;

	if (get_user_pages_remote(mm, buf, 1, 0, &page, NULL) != 1)
		return;
	memcpy_to_page(page, 0, "DMA data", 8);	/* misuse: race */
	put_page(page);	/* expect: ref */
}

void memcpy_from_a_plain_page(struct mm_struct *mm, unsigned long buf, char *to)
{
	struct page *page;

	if (get_user_pages_remote(mm, buf, 1, 0, &page, NULL) != 1)
		return;
	memcpy_from_page(to, page, 0, 8);	/* misuse: race */
	put_page(page);	/* expect: ref */
}

void write_through_kmap_of_a_plain_page(struct mm_struct *mm, unsigned long buf)
{
	struct page *page;
	char *addr;

	if (get_user_pages_remote(mm, buf, 1, FOLL_WRITE, &page, NULL) != 1)
		return;
	addr = kmap_local_page(page);
	addr[0] = 'D';	/* misuse: race */
	kunmap_local(addr);
	set_page_dirty_lock(page);
	put_page(page);	/* expect: ref */
}
