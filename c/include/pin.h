/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The user-page pinning API as a driver sees it, in four variants chosen by
 * PIN_VARIANT. Declarations only, written for pinapi: enough for gcc and
 * sparse to type-check driver code, nothing to link against. Signatures
 * follow linux 6.12 (include/linux/mm.h, scatterlist.h, highmem.h) where the
 * call exists there; the FOLL_* values are 6.12's include/linux/mm_types.h.
 *
 *   PIN_CONVENTION (a)  today: a pin is a bare struct page *, released with
 *                       unpin_user_page*(); nothing checks which is which.
 *   PIN_RENAME     (b)  (a) renamed: vaddr_pin_pages() with an owner;
 *                       get_user_pages(), _fast(), _unlocked() and
 *                       pin_user_pages*() are gone; get_user_pages_remote()
 *                       stays for plain references.
 *   PIN_TYPES      (c)  (b) with distinct C types: struct pinned_page,
 *                       struct pinned_bio_vec, and a pinned sg table whose
 *                       sg_page() returns a struct pinned_page *.
 *   PIN_SPARSE     (d)  (b) with the __pinned sparse address space on pinned
 *                       page pointers; gcc sees (b).
 */
#ifndef PINAPI_PIN_H
#define PINAPI_PIN_H

#define PIN_CONVENTION	1
#define PIN_RENAME	2
#define PIN_TYPES	3
#define PIN_SPARSE	4

#if !defined(PIN_VARIANT) || PIN_VARIANT < PIN_CONVENTION || PIN_VARIANT > PIN_SPARSE
#error "define PIN_VARIANT as PIN_CONVENTION, PIN_RENAME, PIN_TYPES or PIN_SPARSE"
#endif

/* As include/linux/compiler_types.h spells __user and __force. */
#ifdef __CHECKER__
# define __pinned	__attribute__((noderef, address_space(__pinned)))
# define __force	__attribute__((force))
#else
# define __pinned
# define __force
#endif

typedef _Bool bool;
#define true	1
#define false	0
typedef __SIZE_TYPE__ size_t;
typedef long ssize_t;
typedef unsigned int gfp_t;
typedef unsigned long long dma_addr_t;
#define GFP_KERNEL	((gfp_t)0)	/* the value is this header's own */
#define NULL		((void *)0)
#define PAGE_SHIFT	12
#define PAGE_SIZE	(1UL << PAGE_SHIFT)
#define EFAULT		14
#define ENOMEM		12

struct page {
	unsigned long flags;	/* complete, as in the kernel: only noderef stops a dereference */
};
struct folio;
struct mm_struct;
struct file;
struct device;
struct iov_iter;
enum dma_data_direction { DMA_BIDIRECTIONAL, DMA_TO_DEVICE, DMA_FROM_DEVICE };

/* gup_flags. FOLL_PIN is never here: 6.12 keeps it in mm/internal.h. */
enum {
	FOLL_WRITE = 1 << 0,
#if PIN_VARIANT == PIN_CONVENTION
	FOLL_GET = 1 << 1,	/* in 6.12's mm_types.h, set by get_user_pages*() */
#endif
	FOLL_FORCE = 1 << 3,
	FOLL_LONGTERM = 1 << 8,
};

/*
 * Plain references, released with put_page(), in every variant:
 * get_user_pages_remote() for code that touches only struct page (the
 * contract's choice), and a GUP user under another name.
 */
long get_user_pages_remote(struct mm_struct *mm, unsigned long start, unsigned long nr_pages,
			   unsigned int gup_flags, struct page **pages, int *locked);
ssize_t iov_iter_get_pages_alloc2(struct iov_iter *i, struct page ***pages, size_t maxsize,
				  size_t *start);
void get_page(struct page *page);
void put_page(struct page *page);
void release_pages(struct page **pages, int nr);	/* 6.12: a transparent union of page and folio arrays */
bool set_page_dirty(struct page *page);
int set_page_dirty_lock(struct page *page);
struct page *alloc_page(gfp_t gfp);
unsigned long page_to_pfn(struct page *page);
struct page *pfn_to_page(unsigned long pfn);
struct folio *page_folio(struct page *page);
bool folio_maybe_dma_pinned(struct folio *folio);
void *kmap_local_page(struct page *page);
void kunmap_local(const void *addr);
void memcpy_to_page(struct page *page, size_t offset, const char *from, size_t len);
void memcpy_from_page(char *to, struct page *page, size_t offset, size_t len);

struct bio_vec {
	struct page *bv_page;
	unsigned int bv_len;
	unsigned int bv_offset;
};

struct scatterlist {
	unsigned long page_link;	/* the page pointer, as an integer */
	unsigned int offset;
	unsigned int length;
	dma_addr_t dma_address;
};

struct sg_table {
	struct scatterlist *sgl;
	unsigned int nents;
	unsigned int orig_nents;
};

struct page *sg_page(struct scatterlist *sg);
void sg_set_page(struct scatterlist *sg, struct page *page, unsigned int len, unsigned int offset);
struct scatterlist *sg_next(struct scatterlist *sg);
int sg_alloc_table(struct sg_table *table, unsigned int nents, gfp_t gfp_mask);
int sg_alloc_table_from_pages(struct sg_table *sgt, struct page **pages, unsigned int n_pages,
			      unsigned int offset, unsigned long size, gfp_t gfp_mask);
void sg_free_table(struct sg_table *table);
int dma_map_sgtable(struct device *dev, struct sg_table *sgt, enum dma_data_direction dir,
		    unsigned long attrs);
void dma_unmap_sgtable(struct device *dev, struct sg_table *sgt, enum dma_data_direction dir,
		       unsigned long attrs);

#define for_each_sg(sglist, sg, nr, __i) \
	for (__i = 0, sg = (sglist); __i < (nr); __i++, sg = sg_next(sg))

#if PIN_VARIANT == PIN_CONVENTION

long get_user_pages(unsigned long start, unsigned long nr_pages, unsigned int gup_flags,
		    struct page **pages);
long get_user_pages_unlocked(unsigned long start, unsigned long nr_pages, struct page **pages,
			     unsigned int gup_flags);
int get_user_pages_fast(unsigned long start, int nr_pages, unsigned int gup_flags,
			struct page **pages);
long pin_user_pages(unsigned long start, unsigned long nr_pages, unsigned int gup_flags,
		    struct page **pages);
long pin_user_pages_remote(struct mm_struct *mm, unsigned long start, unsigned long nr_pages,
			   unsigned int gup_flags, struct page **pages, int *locked);
int pin_user_pages_fast(unsigned long start, int nr_pages, unsigned int gup_flags,
			struct page **pages);
void unpin_user_page(struct page *page);
void unpin_user_pages(struct page **pages, unsigned long npages);
void unpin_user_pages_dirty_lock(struct page **pages, unsigned long npages, bool make_dirty);
/* Matthew Wilcox's proposal in today's types: one pin per segment's run of pages. */
long get_user_bvec(unsigned long start, size_t length, unsigned int gup_flags, struct bio_vec *bv,
		   int nr_bv);
void put_user_bvec(struct bio_vec *bv, int nr_bv, bool make_dirty);

#else /* the rename, and (c) and (d) on top of it */

/* Ira Weiny's RFC: who holds the pin; one of the two at least (else -EINVAL). */
struct vaddr_pin {
	struct file *f_owner;
	struct mm_struct *mm;
};

# if PIN_VARIANT == PIN_RENAME
#  define __PIN_PAGE	struct page
#  define __PIN_BVEC	struct bio_vec
# elif PIN_VARIANT == PIN_TYPES
/*
 * A pin is not a struct page: mm/ defines these (as struct ptdesc overlays
 * struct page in 6.12's mm_types.h); drivers only hold pointers, and a cast
 * is the only way to mistake one for a struct page.
 */
struct pinned_page;
struct bvec_page;		/* the first page of a segment's pinned run */
#  define __PIN_PAGE	struct pinned_page
#  define __PIN_BVEC	struct pinned_bio_vec
struct pinned_bio_vec {
	struct bvec_page *bv_page;
	unsigned int bv_len;
	unsigned int bv_offset;
};
# else /* PIN_SPARSE */
#  define __PIN_PAGE	struct page __pinned
#  define __PIN_BVEC	struct pinned_bio_vec
/* Segments of get_user_bvec(): struct bio_vec's own bv_page stays plain. */
struct pinned_bio_vec {
	struct page __pinned *bv_page;
	unsigned int bv_len;
	unsigned int bv_offset;
};
# endif

long vaddr_pin_pages(unsigned long addr, unsigned long nr_pages, unsigned int gup_flags,
		     __PIN_PAGE **pages, struct vaddr_pin *vaddr_pin);
void unpin_user_page(__PIN_PAGE *page);
void unpin_user_pages(__PIN_PAGE **pages, unsigned long npages);
void unpin_user_pages_dirty_lock(__PIN_PAGE **pages, unsigned long npages, bool make_dirty);
void vaddr_unpin_pages_dirty_lock(__PIN_PAGE **pages, unsigned long nr_pages,
				  struct vaddr_pin *vaddr_pin, bool make_dirty);
long get_user_bvec(unsigned long addr, size_t length, unsigned int gup_flags, __PIN_BVEC *bv,
		   int nr_bv, struct vaddr_pin *vaddr_pin);
void put_user_bvec(__PIN_BVEC *bv, int nr_bv, bool make_dirty);

#endif

#if PIN_VARIANT == PIN_TYPES
/*
 * The scatterlist round trip: a table of pins is a type of its own, and the
 * sg calls select on it with _Generic (as 6.12's page_folio() does), so
 * sg_page() of a pinned entry is a struct pinned_page * and driver code
 * keeps the names it has. The entry wraps struct scatterlist for DMA.
 */
struct pinned_scatterlist {
	struct scatterlist sg;
};

struct pinned_sg_table {
	struct pinned_scatterlist *sgl;
	unsigned int nents;
	unsigned int orig_nents;
};

static inline struct pinned_page *pinned_sg_page(struct pinned_scatterlist *sg)
{
	return (struct pinned_page *)sg_page(&sg->sg);
}

static inline void pinned_sg_set_page(struct pinned_scatterlist *sg, struct pinned_page *page,
				      unsigned int len, unsigned int offset)
{
	sg_set_page(&sg->sg, (struct page *)page, len, offset);
}

static inline struct pinned_scatterlist *pinned_sg_next(struct pinned_scatterlist *sg)
{
	return (struct pinned_scatterlist *)sg_next(&sg->sg);
}

int pinned_sg_alloc_table_from_pages(struct pinned_sg_table *sgt, struct pinned_page **pages,
				     unsigned int n_pages, unsigned int offset, unsigned long size,
				     gfp_t gfp_mask);
void pinned_sg_free_table(struct pinned_sg_table *table);
int pinned_dma_map_sgtable(struct device *dev, struct pinned_sg_table *sgt,
			   enum dma_data_direction dir, unsigned long attrs);
void pinned_dma_unmap_sgtable(struct device *dev, struct pinned_sg_table *sgt,
			      enum dma_data_direction dir, unsigned long attrs);
void pinned_memcpy_to_page(struct pinned_page *page, size_t offset, const char *from, size_t len);
void pinned_memcpy_from_page(char *to, struct pinned_page *page, size_t offset, size_t len);
void bvec_memcpy_to_page(struct bvec_page *page, size_t offset, const char *from, size_t len);
void bvec_memcpy_from_page(char *to, struct bvec_page *page, size_t offset, size_t len);

#define sg_page(sg) _Generic((sg), struct pinned_scatterlist *: pinned_sg_page, \
			     default: sg_page)(sg)
#define sg_set_page(sg, page, len, offset) _Generic((sg), \
	struct pinned_scatterlist *: pinned_sg_set_page, default: sg_set_page)(sg, page, len, offset)
#define sg_next(sg) _Generic((sg), struct pinned_scatterlist *: pinned_sg_next, \
			     default: sg_next)(sg)
#define sg_alloc_table_from_pages(sgt, pages, n_pages, offset, size, gfp) _Generic((sgt), \
	struct pinned_sg_table *: pinned_sg_alloc_table_from_pages, \
	default: sg_alloc_table_from_pages)(sgt, pages, n_pages, offset, size, gfp)
#define sg_free_table(sgt) _Generic((sgt), struct pinned_sg_table *: pinned_sg_free_table, \
				    default: sg_free_table)(sgt)
#define dma_map_sgtable(dev, sgt, dir, attrs) _Generic((sgt), \
	struct pinned_sg_table *: pinned_dma_map_sgtable, \
	default: dma_map_sgtable)(dev, sgt, dir, attrs)
#define dma_unmap_sgtable(dev, sgt, dir, attrs) _Generic((sgt), \
	struct pinned_sg_table *: pinned_dma_unmap_sgtable, \
	default: dma_unmap_sgtable)(dev, sgt, dir, attrs)
#define memcpy_to_page(page, offset, from, len) _Generic((page), \
	struct pinned_page *: pinned_memcpy_to_page, struct bvec_page *: bvec_memcpy_to_page, \
	default: memcpy_to_page)(page, offset, from, len)
#define memcpy_from_page(to, page, offset, len) _Generic((page), \
	struct pinned_page *: pinned_memcpy_from_page, struct bvec_page *: bvec_memcpy_from_page, \
	default: memcpy_from_page)(to, page, offset, len)
#endif

#if PIN_VARIANT == PIN_SPARSE
/*
 * The address space cannot ride in page_link, an integer: a pinned page goes
 * into a scatterlist and comes back out through these two, and sg_page() of
 * the same entry is a plain struct page * again.
 */
static inline void sg_set_pinned_page(struct scatterlist *sg, struct page __pinned *page,
				      unsigned int len, unsigned int offset)
{
	sg_set_page(sg, (struct page __force *)page, len, offset);
}

static inline struct page __pinned *sg_pinned_page(struct scatterlist *sg)
{
	return (struct page __force __pinned *)sg_page(sg);
}

int sg_alloc_table_from_pinned_pages(struct sg_table *sgt, struct page __pinned **pages,
				     unsigned int n_pages, unsigned int offset, unsigned long size,
				     gfp_t gfp_mask);
void memcpy_to_pinned_page(struct page __pinned *page, size_t offset, const char *from, size_t len);
void memcpy_from_pinned_page(char *to, struct page __pinned *page, size_t offset, size_t len);
#endif

#endif /* PINAPI_PIN_H */
