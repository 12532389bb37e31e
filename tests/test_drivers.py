"""examples/drivers: every file of the 2019 call-site series is modelled,
every scenario runs clean under the corpus rules, the rules themselves catch
what they are for, and docs/drivers.md is what the generator makes."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

import pinapi
from pinapi import MM, PAGE_SIZE, FOLL_WRITE, PinnedPagePutWarning, VaddrPin
from pinapi._lab.drivers_table import DRIVERS, TABLE, call_sites, drivers_table
from pinapi._tools.run import ROOT, check_scenario, find_scenarios, load_example, type_check

#: Seed 001's diffstat: the 47 files of "[PATCH 00/34] put_user_pages():
#: miscellaneous call sites".
SERIES_FILES = {
    "arch/x86/kvm/svm.c", "crypto/af_alg.c", "drivers/gpu/drm/etnaviv/etnaviv_gem.c",
    "drivers/gpu/drm/i915/gem/i915_gem_userptr.c", "drivers/gpu/drm/radeon/radeon_ttm.c",
    "drivers/infiniband/core/umem.c", "drivers/infiniband/hw/hfi1/user_pages.c",
    "drivers/infiniband/hw/qib/qib_user_pages.c", "drivers/infiniband/hw/usnic/usnic_uiom.c",
    "drivers/infiniband/sw/siw/siw_mem.c", "drivers/media/pci/ivtv/ivtv-udma.c",
    "drivers/media/pci/ivtv/ivtv-yuv.c", "drivers/media/v4l2-core/videobuf-dma-sg.c",
    "drivers/misc/genwqe/card_utils.c", "drivers/misc/mic/scif/scif_rma.c",
    "drivers/misc/vmw_vmci/vmci_context.c", "drivers/misc/vmw_vmci/vmci_queue_pair.c",
    "drivers/platform/goldfish/goldfish_pipe.c", "drivers/rapidio/devices/rio_mport_cdev.c",
    "drivers/sbus/char/oradax.c", "drivers/staging/vc04_services/interface/vchiq_arm/vchiq_2835_arm.c",
    "drivers/tee/tee_shm.c", "drivers/vfio/vfio_iommu_type1.c", "drivers/video/fbdev/pvr2fb.c",
    "drivers/virt/fsl_hypervisor.c", "drivers/xen/gntdev.c", "drivers/xen/privcmd.c",
    "fs/binfmt_elf.c", "fs/binfmt_elf_fdpic.c", "fs/exec.c", "fs/nfs/direct.c",
    "fs/orangefs/orangefs-bufmap.c", "include/linux/mm.h", "kernel/events/core.c",
    "kernel/events/uprobes.c", "kernel/futex.c", "mm/frame_vector.c", "mm/gup.c",
    "mm/gup_benchmark.c", "mm/madvise.c", "mm/memory.c", "mm/process_vm_access.c",
    "net/ceph/pagevec.c", "net/rds/info.c", "net/rds/message.c", "net/rds/rdma.c",
    "virt/kvm/kvm_main.c",
}  # fmt: skip

SCENARIOS = find_scenarios([DRIVERS])


def test_every_file_of_the_series_is_modelled_once() -> None:
    assert len(SERIES_FILES) == 47
    modelled = [f for site in call_sites() for f in site.kernel_files]
    api_itself = load_example(DRIVERS / "__init__.py").API_ITSELF
    assert len(modelled) == len(set(modelled)), "a kernel file is modelled twice"
    assert set(modelled) | set(api_itself) == SERIES_FILES
    assert not set(modelled) & set(api_itself)


def test_every_module_has_a_scenario() -> None:
    assert {p.stem for p in SCENARIOS} == {s.module for s in call_sites()}


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_scenario(path: Path) -> None:
    """Data as the device left it (the scenario's own asserts), refcounts at
    baseline (its user buffer), pins balanced, none live, no folio leaked, no
    warning (check_scenario)."""
    delta = check_scenario(load_example(path).scenario)
    site = next(s for s in call_sites() if s.module == path.stem)
    took_pins = delta["nr_foll_pin_acquired"] > 0
    assert took_pins == (site.api != "plain reference"), f"API {site.api!r} but pins taken: {took_pins}"


def test_docs_table_is_generated() -> None:
    assert TABLE.read_text() == drivers_table(call_sites())


def test_type_check_reports_both_checkers(tmp_path: Path) -> None:
    """The main job's type check fails a driver that puts a pin with put_page()."""
    bad = tmp_path / "bad_driver.py"
    bad.write_text(
        "from pinapi import MM, VaddrPin, put_page, vaddr_pin_pages\n\n\n"
        "def f(mm: MM, buf: int) -> None:\n"
        "    with vaddr_pin_pages(buf, 1, 0, VaddrPin(mm=mm)) as pins:\n"
        "        put_page(pins[0])\n"
    )
    errors = type_check([bad])
    assert len(errors) == 2 and all("bad_driver.py:6:" in e for e in errors), errors
    assert any("[mypy arg-type]" in e for e in errors) and any("[pyright reportArgumentType]" in e for e in errors)


# -- the rules catch what they are for ------------------------------------------
def _leaked_pin() -> None:
    mm = MM("leak")
    buf = mm.mmap(PAGE_SIZE)
    pins = pinapi.vaddr_pin_pages(buf, 1, FOLL_WRITE, VaddrPin(mm=mm))
    _leaked_pin.pins = pins  # type: ignore[attr-defined]
    mm.exit()


def test_check_scenario_catches_a_live_pin() -> None:
    with pytest.raises(AssertionError, match=r"pins acquired 1, released 0, still live: \[<PinRecord #\d+ VaddrPin\(mm=<MM leak>"):
        check_scenario(_leaked_pin)
    pinapi.unpin_user_pages(_leaked_pin.pins)  # type: ignore[attr-defined]


def test_check_scenario_catches_a_kept_reference() -> None:
    kept: list[pinapi.Page] = []

    def keep_reference() -> None:
        mm = MM("keep")
        buf = mm.mmap(PAGE_SIZE)
        mm.write(buf, b"x")
        kept.extend(pinapi.get_user_pages_remote(mm, buf, 1, 0))
        mm.exit()

    with pytest.raises(AssertionError, match="1 folios allocated, 0 freed"):
        check_scenario(keep_reference)
    pinapi.put_page(kept[0])


def test_check_scenario_makes_debug_warnings_errors() -> None:
    def put_page_on_pin() -> None:
        mm = MM("warn")
        buf = mm.mmap(PAGE_SIZE)
        pins = pinapi.vaddr_pin_pages(buf, 1, FOLL_WRITE, VaddrPin(mm=mm))
        try:
            pinapi.put_page(pins._pages[0])
        finally:
            pinapi.get_page(pins._pages[0])
            pinapi.unpin_user_pages(pins)
            mm.exit()

    with pytest.raises(PinnedPagePutWarning):
        check_scenario(put_page_on_pin)


def test_user_buffer_catches_a_changed_refcount() -> None:
    user = load_example(DRIVERS / "_user.py")
    kept: list[pinapi.Page] = []
    with pytest.raises(AssertionError, match="_refcount"):
        with user.user_buffer("refs", 2) as buf:
            kept.extend(pinapi.get_user_pages_remote(buf.mm, buf.addr, 2, 0))
    pinapi.release_pages(kept)


def test_expect_error_needs_the_errno() -> None:
    user = load_example(DRIVERS / "_user.py")

    def efault() -> None:
        raise pinapi.KernelError(errno.EFAULT, "bad address")

    user.expect_error(errno.EFAULT, efault)
    with pytest.raises(AssertionError):
        user.expect_error(errno.ENOMEM, efault)
    with pytest.raises(AssertionError):
        user.expect_error(errno.EFAULT, lambda: None)


def test_a_site_must_say_where_it_was_checked(tmp_path: Path) -> None:
    """No kernel version, one with no recorded source, or no file read in it is
    refused; a site whose files are all gone in that version is marked so."""
    from pinapi._lab.drivers_table import _site

    fields = 'SUBSYSTEM = "misc/mic/scif"\nKERNEL_FILES = ("drivers/misc/mic/scif/scif_rma.c",)\n'
    fields += 'FUNCTIONS = ("__scif_pin_pages",)\nCASE = 2\nAPI = "pin+FOLL_LONGTERM"\nCONTAINER = "array"\n'
    fields += 'RELEASE = "unpin_user_pages_dirty_lock"\nJUDGEMENT = ""\n'
    for i, (checked_in, checked, ok) in enumerate([
        ("6.12", '{"drivers/misc/mic/scif/scif_rma.c": ()}', False),
        ("v6.13", '{"drivers/misc/mic/scif/scif_rma.c": ()}', False),
        ("v6.12.117", "{}", False),
        ("v6.12.117", '{"drivers/misc/mic/scif/scif_rma.c": ()}', True),
    ]):  # fmt: skip
        path = tmp_path / f"site_{i}.py"
        path.write_text(f'"""A call site."""\n\n{fields}CHECKED_IN = "{checked_in}"\nCHECKED = {checked}\n')
        if ok:
            assert _site(path).gone
        else:
            with pytest.raises(ValueError, match="checked in"):
                _site(path)


def test_every_site_was_checked_in_one_kernel() -> None:
    """The corpus was re-read against one kernel; the gone ones are the two the kernel removed."""
    sites = call_sites()
    assert len({s.checked_in for s in sites}) == 1
    assert {s.module for s in sites if s.gone} == {"media_videobuf", "scif_rma"}


# -- before and after ---------------------------------------------------------------
BEFORE = sorted((ROOT / "examples" / "misuse" / "before").glob("before_*.py"))


def test_befores_span_every_case_and_release_shape() -> None:
    """At least twelve 2019 versions, each paired with its modelled call
    site, covering cases 1-5 and the six release shapes."""
    assert len(BEFORE) >= 12
    sites = {s.module: s for s in call_sites()}
    cases, shapes = set(), set()
    for path in BEFORE:
        module = load_example(path)
        assert module.AFTER in sites, f"{path.name}: no examples/drivers/{module.AFTER}.py"
        assert f"examples/drivers/{module.AFTER}.py" in (module.__doc__ or "")
        cases.add(sites[module.AFTER].case)
        shapes |= set(module.RELEASE_SHAPES)
    assert cases == {1, 2, 3, 4, 5}
    assert shapes == {"single page", "array", "dirty-lock", "scatterlist", "bvec", "release_pages"}


def test_a_case_with_the_wrong_api_is_refused(tmp_path: Path) -> None:
    """The table cannot claim a struct-page-only site pins, or a DMA site takes plain references."""
    from pinapi._lab.drivers_table import _site

    fields = 'SUBSYSTEM = "kernel/futex"\nKERNEL_FILES = ("kernel/futex.c",)\nFUNCTIONS = ("get_futex_key",)\n'
    fields += 'CONTAINER = "single page"\nRELEASE = "unpin_user_page"\nJUDGEMENT = ""\n'
    fields += 'CHECKED_IN = "v6.12.117"\nCHECKED = {"kernel/futex/core.c": ("get_futex_key",)}\n'
    for case, api, ok in [(4, "pin", False), (2, "plain reference", False), (4, "plain reference", True)]:
        path = tmp_path / f"site_{case}_{api.replace(' ', '_')}.py"
        path.write_text(f'"""A call site."""\n\n{fields}CASE = {case}\nAPI = "{api}"\n')
        if ok:
            assert _site(path).loc == 10
        else:
            with pytest.raises(ValueError, match=f"case {case} does not take API '{api}'"):
                _site(path)
