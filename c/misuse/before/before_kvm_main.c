// SPDX-License-Identifier: GPL-2.0-only
/*
 * Before: virt/kvm/kvm_main.c hva_to_pfn_slow() / kvm_release_pfn_clean(),
 * 2019. Case 3: KVM keeps the pfn under an MMU notifier; a plain reference
 * is right. The series' conversion unpins a pfn nobody pinned.
 */
#include "pin.h"

#define KVM_PFN_ERR_FAULT	(~0UL)

unsigned long hva_to_pfn_slow(unsigned long addr, bool write_fault)
{
	struct page *page;
	unsigned int flags = write_fault ? FOLL_WRITE : 0;

	if (get_user_pages_unlocked(addr, 1, &page, flags) != 1)	/* misuse: old-api */
		return KVM_PFN_ERR_FAULT;
	return page_to_pfn(page);
}

void kvm_release_pfn_clean(unsigned long pfn)
{
	put_page(pfn_to_page(pfn));	/* expect: ref via call */
}

void kvm_release_pfn_clean_as_converted(unsigned long pfn)
{
	unpin_user_page(pfn_to_page(pfn));	/* misuse: bug */
}
