// SPDX-License-Identifier: GPL-2.0-only
/*
 * Before: mm/process_vm_access.c process_vm_rw_single_vec(), 2019. Case 5:
 * the CPU copies into remote pages held by plain references.
 */
#include "pin.h"

#define PVM_MAX_PP_ARRAY	16

void process_vm_rw_pages(struct page **pages, unsigned long start_offset, unsigned long len,
			 const char *from, int vm_write)
{
	if (vm_write)
		memcpy_to_page(pages[0], start_offset, from, len);	/* misuse: race */
}

int process_vm_rw_single_vec(struct mm_struct *mm, unsigned long addr, unsigned long len,
			     const char *from, int vm_write, struct page **process_pages)
{
	unsigned long pa = addr & ~(PAGE_SIZE - 1);
	unsigned long nr_pages = ((addr + len - 1) >> PAGE_SHIFT) - (addr >> PAGE_SHIFT) + 1;
	int locked = 1;

	while (nr_pages) {
		int pinned_pages = nr_pages < PVM_MAX_PP_ARRAY ? nr_pages : PVM_MAX_PP_ARRAY;

		pinned_pages = get_user_pages_remote(mm, pa, pinned_pages, vm_write ? FOLL_WRITE : 0,
						     process_pages, &locked);
		if (pinned_pages <= 0)
			return -EFAULT;
		process_vm_rw_pages(process_pages, addr & (PAGE_SIZE - 1), len, from, vm_write);
		nr_pages -= pinned_pages;
		pa += pinned_pages * PAGE_SIZE;
		while (pinned_pages) {
			pinned_pages--;
			if (vm_write)
				set_page_dirty_lock(process_pages[pinned_pages]);
			put_page(process_pages[pinned_pages]);	/* expect: pin */
		}
	}
	return 0;
}
