/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One driver text for every variant of pin.h. The gallery and the correct
 * examples are written in the vocabulary of (d), the variant that needs the
 * most names; this header says what each of its words is elsewhere. The
 * 2019 drivers (c/misuse/before/) do not include it: they are 2019 code.
 *
 *   struct pinned_page, struct pinned_bio_vec,   the type a pin, a bvec
 *   struct pinned_sg_table, pinned_scatterlist   segment and a table of pins
 *                                                have under the variant
 *   __read_pin, struct pinned_read_bio_vec,      the same taken without
 *   struct pinned_read_sg_table,                 FOLL_WRITE: const and types
 *   pinned_read_scatterlist                      of their own under (c), the
 *                                                write pin's types elsewhere
 *   vaddr_pin_pages(), vaddr_unpin_pages_dirty_lock(), get_user_bvec()
 *                                                lose their owner under (a)
 *   sg_set_pinned_page(), sg_pinned_page(), sg_alloc_table_from_pinned_pages(),
 *   memcpy_to_pinned_page(), memcpy_from_pinned_page()
 *                                                the plain calls except under (d)
 */
#ifndef PINAPI_SPELLING_H
#define PINAPI_SPELLING_H

#include "pin.h"

#if PIN_VARIANT == PIN_CONVENTION || PIN_VARIANT == PIN_RENAME
# define pinned_page		page
# define pinned_bio_vec		bio_vec
#elif PIN_VARIANT == PIN_SPARSE
# define pinned_page		page __pinned
#endif

#if PIN_VARIANT == PIN_TYPES
# define __read_pin		const	/* struct pinned_page __read_pin *: a read pin */
#else
# define __read_pin
# define pinned_read_bio_vec	pinned_bio_vec
# define pinned_read_sg_table	pinned_sg_table
# define pinned_read_scatterlist	pinned_scatterlist
# define pinned_sg_table	sg_table
# define pinned_scatterlist	scatterlist
#endif

#if PIN_VARIANT == PIN_CONVENTION
struct vaddr_pin;		/* a driver's owner record, which (a) never reads */
# define vaddr_pin_pages(addr, nr_pages, gup_flags, pages, vaddr_pin) \
	pin_user_pages(addr, nr_pages, gup_flags, pages)
# define vaddr_unpin_pages_dirty_lock(pages, nr_pages, vaddr_pin, make_dirty) \
	unpin_user_pages_dirty_lock(pages, nr_pages, make_dirty)
# define get_user_bvec(addr, length, gup_flags, bv, nr_bv, vaddr_pin) \
	get_user_bvec(addr, length, gup_flags, bv, nr_bv)
#endif

#if PIN_VARIANT != PIN_SPARSE
# define sg_set_pinned_page			sg_set_page
# define sg_pinned_page				sg_page
# define sg_alloc_table_from_pinned_pages	sg_alloc_table_from_pages
# define memcpy_to_pinned_page			memcpy_to_page
# define memcpy_from_pinned_page		memcpy_from_page
#endif

#endif /* PINAPI_SPELLING_H */
