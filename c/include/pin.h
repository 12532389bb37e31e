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
 *                       sg_page() returns a struct pinned_page *; a pin
 *                       taken without FOLL_WRITE is a const one.
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
void *kzalloc(size_t size, gfp_t flags);
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
#  define __PIN_RO
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
#  define __PIN_RO	const	/* unpin_user_page() takes a pin of either permission */
struct pinned_bio_vec {
	struct bvec_page *bv_page;
	unsigned int bv_len;
	unsigned int bv_offset;
};
/* Segments of a bvec taken without FOLL_WRITE. */
struct pinned_read_bio_vec {
	const struct bvec_page *bv_page;
	unsigned int bv_len;
	unsigned int bv_offset;
};
# else /* PIN_SPARSE */
#  define __PIN_PAGE	struct page __pinned
#  define __PIN_BVEC	struct pinned_bio_vec
#  define __PIN_RO
/* Segments of get_user_bvec(): struct bio_vec's own bv_page stays plain. */
struct pinned_bio_vec {
	struct page __pinned *bv_page;
	unsigned int bv_len;
	unsigned int bv_offset;
};
# endif

long vaddr_pin_pages(unsigned long addr, unsigned long nr_pages, unsigned int gup_flags,
		     __PIN_PAGE **pages, struct vaddr_pin *vaddr_pin);
void unpin_user_page(__PIN_RO __PIN_PAGE *page);
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

/*
 * The write permission. A pin taken without FOLL_WRITE is a read pin, a
 * const struct pinned_page * (its bvec a struct pinned_read_bio_vec, its
 * table a struct pinned_read_sg_table): memcpy_to_page() refuses it (a
 * discarded const) and its releases take make_dirty only as the constant
 * false. C selects on types, not values, so a pin's permission is the type
 * of the array it is pinned into; where gup_flags are a constant, a write
 * pin's array without FOLL_WRITE does not build. Flags computed at run time
 * are not checked: mm/ keeps no record of which pins were taken for writing.
 */
struct pinned_read_scatterlist {
	struct scatterlist sg;
};

struct pinned_read_sg_table {
	struct pinned_read_scatterlist *sgl;
	unsigned int nents;
	unsigned int orig_nents;
};

static inline const struct pinned_page *pinned_read_sg_page(struct pinned_read_scatterlist *sg)
{
	return (const struct pinned_page *)sg_page(&sg->sg);
}

static inline void pinned_read_sg_set_page(struct pinned_read_scatterlist *sg,
					   const struct pinned_page *page, unsigned int len,
					   unsigned int offset)
{
	sg_set_page(&sg->sg, (struct page *)page, len, offset);
}

static inline struct pinned_read_scatterlist *pinned_read_sg_next(struct pinned_read_scatterlist *sg)
{
	return (struct pinned_read_scatterlist *)sg_next(&sg->sg);
}

int pinned_sg_alloc_table(struct pinned_sg_table *table, unsigned int nents, gfp_t gfp_mask);
int pinned_read_sg_alloc_table(struct pinned_read_sg_table *table, unsigned int nents,
			       gfp_t gfp_mask);
int pinned_sg_alloc_table_from_pages(struct pinned_sg_table *sgt, struct pinned_page **pages,
				     unsigned int n_pages, unsigned int offset, unsigned long size,
				     gfp_t gfp_mask);
int pinned_read_sg_alloc_table_from_pages(struct pinned_read_sg_table *sgt,
					  const struct pinned_page **pages, unsigned int n_pages,
					  unsigned int offset, unsigned long size, gfp_t gfp_mask);
void pinned_sg_free_table(struct pinned_sg_table *table);
void pinned_read_sg_free_table(struct pinned_read_sg_table *table);
int pinned_dma_map_sgtable(struct device *dev, struct pinned_sg_table *sgt,
			   enum dma_data_direction dir, unsigned long attrs);
int pinned_read_dma_map_sgtable(struct device *dev, struct pinned_read_sg_table *sgt,
				enum dma_data_direction dir, unsigned long attrs);
void pinned_dma_unmap_sgtable(struct device *dev, struct pinned_sg_table *sgt,
			      enum dma_data_direction dir, unsigned long attrs);
void pinned_read_dma_unmap_sgtable(struct device *dev, struct pinned_read_sg_table *sgt,
				   enum dma_data_direction dir, unsigned long attrs);
void pinned_memcpy_to_page(struct pinned_page *page, size_t offset, const char *from, size_t len);
void pinned_memcpy_from_page(char *to, const struct pinned_page *page, size_t offset, size_t len);
void bvec_memcpy_to_page(struct bvec_page *page, size_t offset, const char *from, size_t len);
void bvec_memcpy_from_page(char *to, const struct bvec_page *page, size_t offset, size_t len);

long vaddr_pin_read_pages(unsigned long addr, unsigned long nr_pages, unsigned int gup_flags,
			  const struct pinned_page **pages, struct vaddr_pin *vaddr_pin);
void unpin_user_read_pages(const struct pinned_page **pages, unsigned long npages);
void unpin_user_read_pages_dirty_lock(const struct pinned_page **pages, unsigned long npages,
				      bool make_dirty);
void vaddr_unpin_read_pages_dirty_lock(const struct pinned_page **pages, unsigned long nr_pages,
				       struct vaddr_pin *vaddr_pin, bool make_dirty);
long get_user_read_bvec(unsigned long addr, size_t length, unsigned int gup_flags,
			struct pinned_read_bio_vec *bv, int nr_bv, struct vaddr_pin *vaddr_pin);
void put_user_read_bvec(struct pinned_read_bio_vec *bv, int nr_bv, bool make_dirty);

/*
 * Whether x is a constant expression, as 6.12's __is_constexpr(): only then
 * is (void *)(x * 0) a null pointer constant, and the conditional an int *.
 * The assertion is 0, as BUILD_BUG_ON_ZERO(), with a message.
 */
#define __PIN_CONSTANT(x) _Generic((1 ? (void *)((long)(x) * 0l) : (int *)1), int *: 1, default: 0)
#define __PIN_BUILD_BUG_ON_ZERO(e, msg) \
	((int)(0 * sizeof(struct { _Static_assert(!(e), msg); char __c; })))
/* gup_flags for pins into *out*: a write pin's constant flags have FOLL_WRITE. */
#define __PIN_FLAGS(gup_flags, out, read_type) ((gup_flags) + __PIN_BUILD_BUG_ON_ZERO( \
	_Generic((out), read_type: 0, default: __builtin_choose_expr(__PIN_CONSTANT(gup_flags), \
		 !((gup_flags) & FOLL_WRITE), 0)), \
	"gup_flags without FOLL_WRITE: a read pin, const struct pinned_page * or struct pinned_read_bio_vec"))
/* make_dirty for a release of *out*: a read pin's is the constant false. */
#define __PIN_DIRTY(make_dirty, out, read_type) ((make_dirty) + __PIN_BUILD_BUG_ON_ZERO( \
	_Generic((out), read_type: __builtin_choose_expr(__PIN_CONSTANT(make_dirty), (make_dirty), 1), \
		 default: 0), \
	"make_dirty on a read pin: released with the constant false"))

#define vaddr_pin_pages(addr, nr_pages, gup_flags, pages, vaddr_pin) _Generic((pages), \
	const struct pinned_page **: vaddr_pin_read_pages, default: vaddr_pin_pages)(addr, nr_pages, \
	__PIN_FLAGS(gup_flags, pages, const struct pinned_page **), pages, vaddr_pin)
#define unpin_user_pages(pages, npages) _Generic((pages), \
	const struct pinned_page **: unpin_user_read_pages, default: unpin_user_pages)(pages, npages)
#define unpin_user_pages_dirty_lock(pages, npages, make_dirty) _Generic((pages), \
	const struct pinned_page **: unpin_user_read_pages_dirty_lock, \
	default: unpin_user_pages_dirty_lock)(pages, npages, \
	__PIN_DIRTY(make_dirty, pages, const struct pinned_page **))
#define vaddr_unpin_pages_dirty_lock(pages, nr_pages, vaddr_pin, make_dirty) _Generic((pages), \
	const struct pinned_page **: vaddr_unpin_read_pages_dirty_lock, \
	default: vaddr_unpin_pages_dirty_lock)(pages, nr_pages, vaddr_pin, \
	__PIN_DIRTY(make_dirty, pages, const struct pinned_page **))
#define get_user_bvec(addr, length, gup_flags, bv, nr_bv, vaddr_pin) _Generic((bv), \
	struct pinned_read_bio_vec *: get_user_read_bvec, default: get_user_bvec)(addr, length, \
	__PIN_FLAGS(gup_flags, bv, struct pinned_read_bio_vec *), bv, nr_bv, vaddr_pin)
#define put_user_bvec(bv, nr_bv, make_dirty) _Generic((bv), \
	struct pinned_read_bio_vec *: put_user_read_bvec, default: put_user_bvec)(bv, nr_bv, \
	__PIN_DIRTY(make_dirty, bv, struct pinned_read_bio_vec *))

#define sg_page(sg) _Generic((sg), struct pinned_scatterlist *: pinned_sg_page, \
			     struct pinned_read_scatterlist *: pinned_read_sg_page, \
			     default: sg_page)(sg)
#define sg_set_page(sg, page, len, offset) _Generic((sg), \
	struct pinned_scatterlist *: pinned_sg_set_page, \
	struct pinned_read_scatterlist *: pinned_read_sg_set_page, \
	default: sg_set_page)(sg, page, len, offset)
#define sg_next(sg) _Generic((sg), struct pinned_scatterlist *: pinned_sg_next, \
			     struct pinned_read_scatterlist *: pinned_read_sg_next, \
			     default: sg_next)(sg)
#define sg_alloc_table(sgt, nents, gfp) _Generic((sgt), \
	struct pinned_sg_table *: pinned_sg_alloc_table, \
	struct pinned_read_sg_table *: pinned_read_sg_alloc_table, \
	default: sg_alloc_table)(sgt, nents, gfp)
#define sg_alloc_table_from_pages(sgt, pages, n_pages, offset, size, gfp) _Generic((sgt), \
	struct pinned_sg_table *: pinned_sg_alloc_table_from_pages, \
	struct pinned_read_sg_table *: pinned_read_sg_alloc_table_from_pages, \
	default: sg_alloc_table_from_pages)(sgt, pages, n_pages, offset, size, gfp)
#define sg_free_table(sgt) _Generic((sgt), struct pinned_sg_table *: pinned_sg_free_table, \
				    struct pinned_read_sg_table *: pinned_read_sg_free_table, \
				    default: sg_free_table)(sgt)
#define dma_map_sgtable(dev, sgt, dir, attrs) _Generic((sgt), \
	struct pinned_sg_table *: pinned_dma_map_sgtable, \
	struct pinned_read_sg_table *: pinned_read_dma_map_sgtable, \
	default: dma_map_sgtable)(dev, sgt, dir, attrs)
#define dma_unmap_sgtable(dev, sgt, dir, attrs) _Generic((sgt), \
	struct pinned_sg_table *: pinned_dma_unmap_sgtable, \
	struct pinned_read_sg_table *: pinned_read_dma_unmap_sgtable, \
	default: dma_unmap_sgtable)(dev, sgt, dir, attrs)
#define memcpy_to_page(page, offset, from, len) _Generic((page), \
	struct pinned_page *: pinned_memcpy_to_page, const struct pinned_page *: pinned_memcpy_to_page, \
	struct bvec_page *: bvec_memcpy_to_page, const struct bvec_page *: bvec_memcpy_to_page, \
	default: memcpy_to_page)(page, offset, from, len)
#define memcpy_from_page(to, page, offset, len) _Generic((page), \
	struct pinned_page *: pinned_memcpy_from_page, const struct pinned_page *: pinned_memcpy_from_page, \
	struct bvec_page *: bvec_memcpy_from_page, const struct bvec_page *: bvec_memcpy_from_page, \
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
