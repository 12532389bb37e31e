// SPDX-License-Identifier: GPL-2.0-only
/*
 * Getting at the struct page behind a pin to release it the plain way, and
 * rearranging a batch of pins. Only where a pin has a type of its own.
 *
 * variants: types sparse
 */
#include "spelling.h"

void page_out_of_a_pin(unsigned long buf, struct vaddr_pin *owner)
{
	struct pinned_page *pins[1];

	if (vaddr_pin_pages(buf, 1, FOLL_WRITE, pins, owner) != 1)
		return;
	put_page((struct page *)pins[0]);	/* misuse: leak; expect: pin */
}

void flags_of_a_pin(unsigned long buf, struct vaddr_pin *owner, unsigned long *flags)
{
	struct pinned_page *pins[1];

	if (vaddr_pin_pages(buf, 1, FOLL_WRITE, pins, owner) != 1)
		return;
	*flags = pins[0]->flags;	/* misuse: legal */
	unpin_user_page(pins[0]);
}

void swap_a_pin_in_a_batch(unsigned long buf, struct vaddr_pin *owner)
{
	struct pinned_page *pins[2];

	if (vaddr_pin_pages(buf, 2, FOLL_WRITE, pins, owner) != 2)
		return;
	pins[0] = pins[1];	/* misuse: bug */
	unpin_user_pages(pins, 2);
}
