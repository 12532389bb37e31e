// SPDX-License-Identifier: GPL-2.0-only
/*
 * A pin with no owner: struct vaddr_pin names the process, the file, or
 * both, so every pin can be traced to who holds it; with neither it is
 * -EINVAL. Only where the pin call takes an owner.
 *
 * variants: rename types sparse
 */
#include "spelling.h"

void vaddr_pin_pages_for_nobody(unsigned long buf)
{
	struct pinned_page *pins[1];

	if (vaddr_pin_pages(buf, 1, FOLL_WRITE, pins, NULL) == 1)	/* misuse: einval */
		unpin_user_page(pins[0]);
}

void an_owner_naming_neither(unsigned long buf)
{
	struct vaddr_pin nobody = { NULL, NULL };
	struct pinned_page *pins[1];

	if (vaddr_pin_pages(buf, 1, FOLL_WRITE, pins, &nobody) == 1)	/* misuse: einval */
		unpin_user_page(pins[0]);
}

void get_user_bvec_for_nobody(unsigned long buf)
{
	struct pinned_bio_vec bv[1];

	if (get_user_bvec(buf, PAGE_SIZE, FOLL_WRITE, bv, 1, NULL) == 1)	/* misuse: einval */
		put_user_bvec(bv, 1, false);
}
