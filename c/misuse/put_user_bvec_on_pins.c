// SPDX-License-Identifier: GPL-2.0-only
/*
 * put_user_bvec() on per-page pins from vaddr_pin_pages(): they are not a
 * bvec. Release them with unpin_user_pages_dirty_lock().
 */
#include "spelling.h"

void put_user_bvec_on_a_pin_batch(unsigned long buf, struct vaddr_pin *owner)
{
	struct pinned_page *pins[2];

	if (vaddr_pin_pages(buf, 2, FOLL_WRITE, pins, owner) != 2)
		return;
	put_user_bvec(pins, 2, true);	/* misuse: bug */
}
