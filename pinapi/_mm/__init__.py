"""The model, one module per concern, named as the kernel's files are.

Layers, bottom up; a module imports at run time only from layers below it.
Imports under ``TYPE_CHECKING`` are forward declarations (a C header's
``struct file;``): the filesystems and the VMAs refer to each other as
``struct address_space`` and ``struct vm_area_struct`` do.
``tests/test_layering.py`` enforces both rules.

    errors          KernelError (-errno), KernelBug (BUG), the WARN()s
    validate        entry_point: kernel_lock and argument kinds at the public boundary
    page_alloc      folios, pages, zones, the allocator, vmstat; page_ref helpers
    gup_cost        kernel cost counters: what mm/gup.c would do for the model's GUP work
    pin_tracking    how pins are counted: the only pin arithmetic
    swapfile        the swap device: slots holding swapped-out anonymous pages
    pgtable         page tables: the only code that reads or writes them
    filemap         the page cache (struct address_space)
    mm_types        struct mm_struct and struct vm_area_struct
    memory          faults, COW, zap, unmap_mapping_range, copy_page_range, user access
    fs              files, inodes; tmpfs, hugetlbfs, ext4, fsdax
    rmap            rmap_walk, folio_expected_refs
    migrate         migrate_folio (FOLL_LONGTERM's)
    huge_memory     split_folio: a large folio into small ones
    gup             the GUP engine: every entry point; FOLL_GET/FOLL_PIN internal
    page_writeback  writeback, aware of pins
    vmscan          reclaim and MADV_PAGEOUT, aware of pins
    debug           the debug pin counter (CONFIG_DEBUG_GET_USER_PAGES_REFERENCES)
    mmap            MM: mmap, munmap, mremap, mprotect, madvise, fork, exit, loads and stores
    kthread         current->mm, kthread_use_mm()
"""
