// SPDX-License-Identifier: GPL-2.0-only
/*
 * Before (and in 6.12 with get_user_page_vma_remote()): mm/memory.c
 * __access_remote_vm(), a ptrace poke through a plain reference. Case 5.
 */
#include "pin.h"

int __access_remote_vm(struct mm_struct *mm, unsigned long addr, const char *buf, int len,
		       unsigned int gup_flags)
{
	struct page *page;

	if (get_user_pages_remote(mm, addr, 1, gup_flags, &page, NULL) <= 0)
		return 0;
	if (gup_flags & FOLL_WRITE) {
		memcpy_to_page(page, addr & (PAGE_SIZE - 1), buf, len);	/* misuse: race */
		set_page_dirty_lock(page);
	}
	put_page(page);	/* expect: pin */
	return len;
}
