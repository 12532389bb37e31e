// SPDX-License-Identifier: GPL-2.0-only
/*
 * Forging a pin, or passing one kind of page off as another: a pin
 * allocated by hand, a cast from a kernel page to a pin and back, a read
 * pin cast to a write pin. Pins come only from vaddr_pin_pages() and
 * get_user_bvec(). C has no constructor to refuse: under (c) gcc accepts
 * every explicit pointer cast (an opaque type refuses only what needs its
 * size); under (d) sparse, with 6.12's CHECKFLAGS, accepts a cast into
 * __pinned (only -Wcast-to-as reports one) and reports a cast out of it
 * unless the cast says __force. Only where a pin has a type of its own.
 *
 * variants: types sparse
 */
#include "spelling.h"

void a_pin_allocated_by_hand(void)
{
	struct pinned_page *pin = kzalloc(sizeof(*pin), GFP_KERNEL);	/* misuse: bug */

	if (pin)
		unpin_user_page(pin);
}

void a_kernel_page_cast_to_a_pin(void)
{
	struct page *page = alloc_page(GFP_KERNEL);

	if (page)
		unpin_user_page((struct pinned_page *)page);	/* misuse: bug */
}

void a_pin_passed_off_as_a_kernel_page(unsigned long buf, struct vaddr_pin *owner)
{
	struct pinned_page *pins[1];
	struct page *page;

	if (vaddr_pin_pages(buf, 1, FOLL_WRITE, pins, owner) != 1)
		return;
	page = (struct page __force *)pins[0];	/* misuse: leak */
	put_page(page);	/* expect: pin via alias */
}

void a_read_pin_cast_to_a_write_pin(unsigned long buf, struct vaddr_pin *owner)
{
	struct pinned_page __read_pin *pins[1];

	if (vaddr_pin_pages(buf, 1, 0, pins, owner) != 1)
		return;
	memcpy_to_pinned_page((struct pinned_page *)pins[0], 0, "DMA data", 8);	/* misuse: corrupt */
	unpin_user_page(pins[0]);
}
