// SPDX-License-Identifier: GPL-2.0-only
/*
 * Making a pin by hand instead of taking it from vaddr_pin_pages(): it
 * stands for no pin. Only where a pin has a type of its own.
 *
 * variants: types sparse
 */
#include "spelling.h"

void a_plain_page_cast_to_a_pin(struct mm_struct *mm, unsigned long buf)
{
	struct page *page;

	if (get_user_pages_remote(mm, buf, 1, 0, &page, NULL) != 1)
		return;
	unpin_user_page((struct pinned_page *)page);	/* misuse: bug */
}

void a_pin_on_the_stack(void)
{
	struct pinned_page pin;	/* misuse: bug */

	unpin_user_page(&pin);	/* misuse: bug */
}
