// SPDX-License-Identifier: GPL-2.0-only
/*
 * release_pages() on pinned pages: it drops plain references only. Use
 * unpin_user_pages(), or unpin_user_pages_dirty_lock() after DMA wrote them.
 */
#include "spelling.h"

void release_pages_on_a_pin_batch(unsigned long buf, struct vaddr_pin *owner)
{
	struct pinned_page *pins[4];

	if (vaddr_pin_pages(buf, 4, FOLL_WRITE, pins, owner) != 4)
		return;
	release_pages(pins, 4);	/* misuse: leak; expect: pin */
}

void release_pages_on_a_slice_of_pins(unsigned long buf, struct vaddr_pin *owner)
{
	struct pinned_page *pins[4];

	if (vaddr_pin_pages(buf, 4, FOLL_WRITE, pins, owner) != 4)
		return;
	unpin_user_pages(pins, 2);
	release_pages(pins + 2, 2);	/* misuse: leak; expect: pin via alias */
}
