// SPDX-License-Identifier: GPL-2.0-only
/*
 * A struct-page call that takes or drops plain references, on a pin.
 * get_page() on a pin adds a reference no unpin drops; dirty pinned pages
 * with unpin_user_pages_dirty_lock(pins, n, true). Both are legal in 6.12.
 */
#include "spelling.h"

void get_page_on_a_pin(unsigned long buf, struct vaddr_pin *owner)
{
	struct pinned_page *pins[1];

	if (vaddr_pin_pages(buf, 1, FOLL_WRITE, pins, owner) != 1)
		return;
	get_page(pins[0]);	/* misuse: legal */
	unpin_user_page(pins[0]);
}

void set_page_dirty_lock_on_a_pin(unsigned long buf, struct vaddr_pin *owner)
{
	struct pinned_page *pins[1];

	if (vaddr_pin_pages(buf, 1, FOLL_WRITE, pins, owner) != 1)
		return;
	set_page_dirty_lock(pins[0]);	/* misuse: legal */
	unpin_user_page(pins[0]);
}
