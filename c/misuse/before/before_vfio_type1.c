// SPDX-License-Identifier: GPL-2.0-only
/*
 * Before: drivers/vfio/vfio_iommu_type1.c vaddr_get_pfn() / put_pfn(),
 * 2019. Case 2: one page per call, kept as a pfn in the IOMMU until unmap.
 */
#include "pin.h"

#define IOMMU_WRITE	(1 << 1)

void SetPageDirty(struct page *page);

int put_pfn(unsigned long pfn, int prot)
{
	struct page *page = pfn_to_page(pfn);

	if (prot & IOMMU_WRITE)
		SetPageDirty(page);
	put_page(page);	/* expect: pin via call */
	return 1;
}

int vaddr_get_pfn(struct mm_struct *mm, unsigned long vaddr, int prot, unsigned long *pfn)
{
	struct page *page[1];
	unsigned int flags = FOLL_LONGTERM;
	long ret;

	if (prot & IOMMU_WRITE)
		flags |= FOLL_WRITE;
	ret = get_user_pages_remote(mm, vaddr, 1, flags, page, NULL);	/* misuse: einval */
	if (ret != 1)
		return -EFAULT;
	memcpy_to_page(page[0], 0, "iova", 4);	/* misuse: race */
	*pfn = page_to_pfn(page[0]);
	return 0;
}
