// SPDX-License-Identifier: GPL-2.0-only
/*
 * A kernel page: a bounce buffer the driver reads and writes freely, filled
 * from a pinned user page and released with put_page().
 */
#include "spelling.h"

void bounce(unsigned long buf, struct vaddr_pin *owner, char *out)
{
	struct page *bounce_page = alloc_page(GFP_KERNEL);
	struct pinned_page __read_pin *pins[1];
	char data[64];

	if (!bounce_page)
		return;
	if (vaddr_pin_pages(buf, 1, 0, pins, owner) == 1) {
		memcpy_from_pinned_page(data, pins[0], 0, sizeof(data));
		unpin_user_page(pins[0]);
		memcpy_to_page(bounce_page, 0, data, sizeof(data));
		memcpy_from_page(out, bounce_page, 0, sizeof(data));
	}
	put_page(bounce_page);	/* expect: ref */
}
