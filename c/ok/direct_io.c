// SPDX-License-Identifier: GPL-2.0-only
/*
 * Case 1, direct I/O: pin for the transfer, write through the pins, unpin
 * dirtying what the device wrote. Whether dio_read() pins for writing is
 * known only at run time; it writes only then.
 */
#include "spelling.h"

void dio_read(unsigned long buf, struct vaddr_pin *owner, bool write_to_user)
{
	struct pinned_page *pins[8];
	int i;

	if (vaddr_pin_pages(buf, 8, write_to_user ? FOLL_WRITE : 0, pins, owner) != 8)
		return;
	if (write_to_user)
		for (i = 0; i < 8; i++)
			memcpy_to_pinned_page(pins[i], 0, "device data", 11);
	unpin_user_pages_dirty_lock(pins, 8, write_to_user);
}

void dio_write(unsigned long buf, struct vaddr_pin *owner, char *out)
{
	struct pinned_page __read_pin *pins[2];

	if (vaddr_pin_pages(buf, 2, 0, pins, owner) != 2)
		return;
	memcpy_from_pinned_page(out, pins[0], 0, 4);
	memcpy_from_pinned_page(out + 4, pins[1], 0, 4);
	unpin_user_pages(pins, 2);
}

void dio_release_early(unsigned long buf, struct vaddr_pin *owner)
{
	struct pinned_page *pins[4];

	if (vaddr_pin_pages(buf, 4, FOLL_WRITE, pins, owner) != 4)
		return;
	unpin_user_pages(pins, 2);
	unpin_user_page(pins[2]);
	vaddr_unpin_pages_dirty_lock(pins + 3, 1, owner, true);
}
