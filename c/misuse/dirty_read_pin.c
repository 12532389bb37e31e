// SPDX-License-Identifier: GPL-2.0-only
/*
 * Releasing a read pin dirty: make_dirty true on pins taken without
 * FOLL_WRITE. The page was never made writable for the pin, so no
 * page_mkwrite ran: on a shared ext4 mapping that was only read it has no
 * buffers, and dirtying it is the writeback BUG of the 2018 report (today's
 * ext4 drops a later store instead). 6.12's unpin_user_pages_dirty_lock()
 * checks nothing. A read pin is released with make_dirty false.
 */
#include "spelling.h"

void unpin_dirty_a_read_pin(unsigned long buf, struct vaddr_pin *owner)
{
	struct pinned_page *pins[2];

	if (vaddr_pin_pages(buf, 2, 0, pins, owner) != 2)	/* misuse: dirty */
		return;
	unpin_user_pages_dirty_lock(pins, 2, true);	/* misuse: dirty */
}

void unpin_dirty_a_longterm_read_pin(unsigned long buf, struct vaddr_pin *owner)
{
	struct pinned_page __read_pin *pins[1];

	if (vaddr_pin_pages(buf, 1, FOLL_LONGTERM, pins, owner) != 1)
		return;
	unpin_user_pages_dirty_lock(pins, 1, true);	/* misuse: dirty */
}

void vaddr_unpin_dirty_a_read_pin(unsigned long buf, struct vaddr_pin *owner)
{
	struct pinned_page __read_pin *pins[1];

	if (vaddr_pin_pages(buf, 1, 0, pins, owner) != 1)
		return;
	vaddr_unpin_pages_dirty_lock(pins, 1, owner, true);	/* misuse: dirty */
}

void put_user_bvec_dirty_on_a_read_bvec(unsigned long buf, struct vaddr_pin *owner)
{
	struct pinned_read_bio_vec bv[2];
	long nr;

	nr = get_user_bvec(buf, 2 * PAGE_SIZE, 0, bv, 2, owner);
	if (nr > 0)
		put_user_bvec(bv, nr, true);	/* misuse: dirty */
}
