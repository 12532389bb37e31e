// SPDX-License-Identifier: GPL-2.0-only
/*
 * FOLL_PIN or FOLL_GET at a call site: GUP sets them itself. 6.12 keeps
 * FOLL_PIN in mm/internal.h and is_valid_gup_args() (mm/gup.c) refuses it
 * with a WARN and -EINVAL; FOLL_GET is public there and harmless on
 * get_user_pages*(), which set it anyway. The contract declares neither.
 */
#include "spelling.h"

void foll_pin_passed_to_the_pin_api(unsigned long buf, struct vaddr_pin *owner)
{
	struct pinned_page *pins[1];

	if (vaddr_pin_pages(buf, 1, FOLL_PIN, pins, owner) == 1)	/* misuse: einval */
		unpin_user_page(pins[0]);
}

void foll_pin_by_value(unsigned long buf, struct vaddr_pin *owner)
{
	struct pinned_page *pins[1];

	if (vaddr_pin_pages(buf, 1, FOLL_WRITE | 1 << 19, pins, owner) == 1)	/* misuse: einval */
		unpin_user_page(pins[0]);
}

void foll_get_passed_to_get_user_pages(struct mm_struct *mm, unsigned long buf)
{
	struct page *pages[1];

	if (get_user_pages_remote(mm, buf, 1, FOLL_GET, pages, NULL) == 1)	/* misuse: legal */
		put_page(pages[0]);	/* expect: ref */
}
