// SPDX-License-Identifier: GPL-2.0-only
/*
 * put_page() on a pinned page: a pin is not a plain reference; on a small
 * folio put_page() drops 1 of its 1024 and the page is never freed. Use
 * unpin_user_page() / unpin_user_pages().
 */
#include "spelling.h"

void put_page_on_a_pin(unsigned long buf, struct vaddr_pin *owner)
{
	struct pinned_page *pins[1];

	if (vaddr_pin_pages(buf, 1, FOLL_WRITE, pins, owner) != 1)
		return;
	put_page(pins[0]);	/* misuse: leak; expect: pin */
}

void put_page_on_each_pin(unsigned long buf, struct vaddr_pin *owner)
{
	struct pinned_page *pins[4];
	int i;

	if (vaddr_pin_pages(buf, 4, FOLL_WRITE, pins, owner) != 4)
		return;
	for (i = 0; i < 4; i++)
		put_page(pins[i]);	/* misuse: leak; expect: pin */
}

void put_page_on_a_copy_of_a_pin(unsigned long buf, struct vaddr_pin *owner)
{
	struct pinned_page *pins[2];
	struct pinned_page *pin;

	if (vaddr_pin_pages(buf, 2, FOLL_WRITE, pins, owner) != 2)
		return;
	pin = pins[1];
	unpin_user_page(pins[0]);
	put_page(pin);		/* misuse: leak; expect: pin via alias */
}
