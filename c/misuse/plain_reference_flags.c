// SPDX-License-Identifier: GPL-2.0-only
/*
 * FOLL_LONGTERM reaching a plain-reference call through flags built up at
 * run time. is_valid_gup_args() (6.12 mm/gup.c) refuses FOLL_LONGTERM
 * without FOLL_PIN: a WARN and -EINVAL. gup_flags are an unsigned int in
 * every variant, so no build follows the bits. Pass get_user_pages_remote()
 * FOLL_WRITE, FOLL_FORCE or 0; pin for long-term use. (follow_page(), the
 * contract's other plain-reference call, is gone from 6.12.)
 */
#include "spelling.h"

void built_up_flags_to_get_user_pages_remote(struct mm_struct *mm, unsigned long buf)
{
	struct page *pages[1];
	unsigned int gup_flags = 0;

	gup_flags |= FOLL_LONGTERM;
	if (get_user_pages_remote(mm, buf, 1, gup_flags, pages, NULL) == 1)	/* misuse: einval */
		put_page(pages[0]);	/* expect: ref */
}

void flags_built_up_from_a_parameter(struct mm_struct *mm, unsigned long buf, bool longterm)
{
	struct page *pages[1];
	unsigned int gup_flags = FOLL_FORCE;

	if (longterm)
		gup_flags |= FOLL_LONGTERM;
	if (get_user_pages_remote(mm, buf, 1, gup_flags, pages, NULL) == 1)	/* misuse: einval */
		put_page(pages[0]);	/* expect: ref */
}

void longterm_force_to_get_user_pages_remote(struct mm_struct *mm, unsigned long buf)
{
	struct page *pages[1];

	if (get_user_pages_remote(mm, buf, 1, FOLL_FORCE | FOLL_LONGTERM, pages, NULL) == 1)	/* misuse: einval */
		put_page(pages[0]);	/* expect: ref */
}
