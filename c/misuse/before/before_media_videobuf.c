// SPDX-License-Identifier: GPL-2.0-only
/*
 * Before: drivers/media/v4l2-core/videobuf-dma-sg.c, 2019. Case 2: the
 * capture device writes dma->pages through an sg list; videobuf_dma_free()
 * puts each page, never dirtied.
 */
#include "pin.h"

struct videobuf_dmabuf {
	struct page **pages;
	int nr_pages;
	int direction;
	struct sg_table sglist;
};

int videobuf_dma_init_user_locked(struct videobuf_dmabuf *dma, int direction, unsigned long data,
				  struct page **pages)
{
	unsigned int flags = FOLL_LONGTERM;
	long err;

	if (direction == DMA_FROM_DEVICE)
		flags |= FOLL_WRITE;
	dma->direction = direction;
	dma->pages = pages;
	err = get_user_pages(data & ~(PAGE_SIZE - 1), dma->nr_pages, flags, dma->pages);	/* misuse: einval */
	if (err != dma->nr_pages) {
		dma->nr_pages = (err >= 0) ? err : 0;
		return err < 0 ? err : -EFAULT;
	}
	return 0;
}

int videobuf_pages_to_sg(struct videobuf_dmabuf *dma)
{
	struct scatterlist *sg;
	unsigned int i;

	if (sg_alloc_table_from_pages(&dma->sglist, dma->pages, dma->nr_pages, 0,
				      dma->nr_pages * PAGE_SIZE, GFP_KERNEL))
		return -ENOMEM;
	for_each_sg(dma->sglist.sgl, sg, dma->sglist.orig_nents, i)
		memcpy_to_page(sg_page(sg), sg->offset, "frame", 5);	/* misuse: race */
	return 0;
}

int videobuf_dma_free(struct videobuf_dmabuf *dma)
{
	int i;

	sg_free_table(&dma->sglist);
	for (i = 0; i < dma->nr_pages; i++)
		put_page(dma->pages[i]);	/* expect: pin via field */
	dma->pages = NULL;
	return 0;
}
