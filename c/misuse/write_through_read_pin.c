// SPDX-License-Identifier: GPL-2.0-only
/*
 * Writing page data through a pin taken without FOLL_WRITE. A read pin may
 * hold the shared zero page, or a page still shared copy-on-write with
 * another process: the write lands where the user never sees it, or where
 * another process does. Pin with FOLL_WRITE for the device to write. Under
 * (c) a read pin is const, and the permission is the type of the array the
 * pin call fills: constant flags are checked against it, flags computed at
 * run time are not.
 */
#include "spelling.h"

void memcpy_to_a_read_pin(unsigned long buf, struct vaddr_pin *owner)
{
	struct pinned_page *pins[1];

	if (vaddr_pin_pages(buf, 1, 0, pins, owner) != 1)	/* misuse: corrupt */
		return;
	memcpy_to_pinned_page(pins[0], 0, "DMA data", 8);	/* misuse: corrupt */
	unpin_user_page(pins[0]);
}

void memcpy_to_a_pin_declared_read(unsigned long buf, struct vaddr_pin *owner)
{
	struct pinned_page __read_pin *pins[1];

	if (vaddr_pin_pages(buf, 1, 0, pins, owner) != 1)
		return;
	memcpy_to_pinned_page(pins[0], 0, "DMA data", 8);	/* misuse: corrupt */
	unpin_user_page(pins[0]);
}

void write_a_read_bvec_segment(unsigned long buf, struct vaddr_pin *owner)
{
	struct pinned_bio_vec bv[1];

	if (get_user_bvec(buf, PAGE_SIZE, 0, bv, 1, owner) != 1)	/* misuse: corrupt */
		return;
	memcpy_to_pinned_page(bv[0].bv_page, bv[0].bv_offset, "DMA data", 8);	/* misuse: corrupt */
	put_user_bvec(bv, 1, false);
}

void write_a_read_pin_out_of_an_sg_table(unsigned long buf, struct vaddr_pin *owner)
{
	struct pinned_page __read_pin *pins[2];
	struct pinned_read_sg_table sgt;
	struct pinned_read_scatterlist *sg;
	unsigned int i;

	if (vaddr_pin_pages(buf, 2, 0, pins, owner) != 2)
		return;
	if (sg_alloc_table_from_pinned_pages(&sgt, pins, 2, 0, 2 * PAGE_SIZE, GFP_KERNEL)) {
		unpin_user_pages(pins, 2);
		return;
	}
	for_each_sg(sgt.sgl, sg, sgt.orig_nents, i)
		memcpy_to_pinned_page(sg_pinned_page(sg), 0, "DMA data", 8);	/* misuse: corrupt */
	for_each_sg(sgt.sgl, sg, sgt.orig_nents, i)
		unpin_user_page(sg_pinned_page(sg));
	sg_free_table(&sgt);
}

void write_before_checking_the_flags(unsigned long buf, struct vaddr_pin *owner, bool write)
{
	struct pinned_page *pins[1];
	unsigned int gup_flags = 0;

	if (write)
		gup_flags |= FOLL_WRITE;
	if (vaddr_pin_pages(buf, 1, gup_flags, pins, owner) != 1)
		return;
	memcpy_to_pinned_page(pins[0], 0, "DMA data", 8);	/* misuse: corrupt */
	unpin_user_pages_dirty_lock(pins, 1, write);
}
