// SPDX-License-Identifier: GPL-2.0-only
/*
 * Before: drivers/platform/goldfish/goldfish_pipe.c, 2019. Case 1: the
 * emulator writes the pages through plain references; release_user_pages()
 * dirties and puts them. The driver's own pin helper was called
 * pin_user_pages() then, a name the API has since.
 */
#include "pin.h"

int goldfish_pin_user_pages(unsigned long first_page, unsigned long last_page, int is_write,
			    struct page **pages)
{
	int requested_pages = ((last_page - first_page) >> PAGE_SHIFT) + 1;

	return get_user_pages_fast(first_page, requested_pages, !is_write ? FOLL_WRITE : 0,	/* misuse: old-api */
				   pages);
}

void release_user_pages(struct page **pages, int pages_count, int is_write, int consumed_size)
{
	int i;

	for (i = 0; i < pages_count; i++) {
		if (!is_write && consumed_size > 0)
			set_page_dirty(pages[i]);
		put_page(pages[i]);	/* expect: pin via helper */
	}
}

int transfer_max_buffers(unsigned long address, unsigned long address_end, int is_write,
			 struct page **pages)
{
	int pages_count = goldfish_pin_user_pages(address, address_end, is_write, pages);

	if (pages_count < 0)
		return pages_count;
	if (!is_write)
		memcpy_to_page(pages[0], address & (PAGE_SIZE - 1), "emulator", 8);	/* misuse: race */
	release_user_pages(pages, pages_count, is_write, 8);
	return 0;
}
