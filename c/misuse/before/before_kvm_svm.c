// SPDX-License-Identifier: GPL-2.0-only
/*
 * Before: arch/x86/kvm/svm.c sev_pin_memory() / sev_unpin_memory(), 2019.
 * Case 1: the PSP encrypts the pages in place through plain references.
 */
#include "pin.h"

void sev_unpin_memory(struct page **pages, unsigned long npages)
{
	release_pages(pages, npages);	/* expect: pin via helper */
}

int sev_pin_memory(unsigned long uaddr, unsigned long npages, int write, struct page **pages)
{
	int npinned = get_user_pages_fast(uaddr, npages, write ? FOLL_WRITE : 0, pages);	/* misuse: old-api */

	if (npinned != npages) {
		if (npinned > 0)
			release_pages(pages, npinned);	/* expect: pin */
		return -ENOMEM;
	}
	return 0;
}

int sev_launch_update_data(unsigned long uaddr, unsigned long npages, struct page **pages)
{
	unsigned long i;

	if (sev_pin_memory(uaddr, npages, 1, pages))
		return -ENOMEM;
	for (i = 0; i < npages; i++)
		memcpy_to_page(pages[i], 0, "psp encrypted", 13);	/* misuse: race */
	sev_unpin_memory(pages, npages);
	return 0;
}
