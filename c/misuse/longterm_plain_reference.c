// SPDX-License-Identifier: GPL-2.0-only
/*
 * FOLL_LONGTERM on a plain reference: long-term means pinned.
 * is_valid_gup_args() (6.12 mm/gup.c) refuses FOLL_LONGTERM without
 * FOLL_PIN: a WARN and -EINVAL. Use vaddr_pin_pages(..., FOLL_LONGTERM, ...).
 */
#include "spelling.h"

void longterm_get_user_pages_remote(struct mm_struct *mm, unsigned long buf)
{
	struct page *pages[1];

	if (get_user_pages_remote(mm, buf, 1, FOLL_LONGTERM, pages, NULL) == 1)	/* misuse: einval */
		put_page(pages[0]);	/* expect: ref */
}

void longterm_write_get_user_pages_remote(struct mm_struct *mm, unsigned long buf)
{
	struct page *pages[1];

	if (get_user_pages_remote(mm, buf, 1, FOLL_WRITE | FOLL_LONGTERM, pages, NULL) == 1)	/* misuse: einval */
		put_page(pages[0]);	/* expect: ref */
}
