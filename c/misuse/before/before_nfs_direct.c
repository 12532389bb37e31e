// SPDX-License-Identifier: GPL-2.0-only
/*
 * Before (and in 6.12 with iov_iter_get_pages_alloc2()): fs/nfs/direct.c
 * nfs_direct_read_schedule_iovec(). Case 1: the RPC reply is copied into
 * plain references, dropped at once by nfs_direct_release_pages().
 */
#include "pin.h"

void nfs_direct_release_pages(struct page **pages, unsigned int npages)
{
	unsigned int i;

	for (i = 0; i < npages; i++)
		put_page(pages[i]);	/* expect: pin via helper */
}

ssize_t nfs_direct_read_schedule_iovec(struct iov_iter *iter, size_t rsize)
{
	struct page **pagevec;
	size_t pgbase;
	ssize_t bytes = iov_iter_get_pages_alloc2(iter, &pagevec, rsize, &pgbase);
	unsigned int npages, i;

	if (bytes < 0)
		return bytes;
	npages = (bytes + pgbase + PAGE_SIZE - 1) >> PAGE_SHIFT;
	for (i = 0; i < npages; i++)
		memcpy_to_page(pagevec[i], i ? 0 : pgbase, "READ reply", 10);	/* misuse: race */
	nfs_direct_release_pages(pagevec, npages);
	return bytes;
}
