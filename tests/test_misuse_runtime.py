"""Untyped code makes the gallery's mistakes too: every case in
examples/misuse that can happen at run time is executed here without a
checker, and the run time catches it (an exception, or the debug pin
counter's warning) with the state left as the correct code around it leaves it."""

from __future__ import annotations

import importlib.util
import inspect
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pinapi import MM, PAGE_SIZE, KernelBug, KernelError, PinnedPagePutWarning
from helpers import state

MISUSE = Path(__file__).resolve().parent.parent / "examples" / "misuse"

#: (file, function) -> what the run time raises and a fragment of its message.
EXPECTED: dict[tuple[str, str], tuple[type[BaseException], str]] = {
    ("put_page_on_pin", "put_page_on_a_pin"): (TypeError, r"put_page\(\): page must be a Page or a KernelPage, got PinnedPage: a pin"),
    ("put_page_on_pin", "put_page_on_each_pin"): (TypeError, r"put_page\(\): page must be a Page or a KernelPage, got PinnedPage: a pin"),
    ("release_pages_on_pins", "release_pages_on_a_pin_batch"): (TypeError, r"release_pages\(\): pages\[\d\] must be a Page, got PinnedPage: a pin"),
    ("release_pages_on_pins", "release_pages_on_a_slice_of_pins"): (TypeError, r"release_pages\(\): pages\[0\] must be a Page, got PinnedPage"),
    ("sg_round_trip", "put_page_after_sg_page"): (TypeError, r"put_page\(\): page must be a Page or a KernelPage, got PinnedPage: a pin"),
    ("sg_round_trip", "release_pages_from_an_sg_table"): (TypeError, r"release_pages\(\): pages\[\d\] must be a Page, got PinnedPage: a pin"),
    ("mixed_pages", "unpin_a_mixed_list"): (TypeError, r"unpin_user_pages\(\): pages\[\d\] must be a PinnedPage, got Page: a plain reference"),
    ("mixed_pages", "release_a_mixed_list"): (TypeError, r"release_pages\(\): pages\[\d\] must be a Page, got PinnedPage: a pin"),
    ("mixed_pages", "sg_table_from_mixed_pages"): (TypeError, r"sg table of PinnedPage given a Page"),
    ("mixed_pages", "plain_page_into_a_pinned_table"): (TypeError, r"sg table of PinnedPage given a Page"),
    ("mixed_pages", "pin_into_a_table_of_plain_pages"): (TypeError, r"sg table of Page given a PinnedPage"),
    ("unpin_plain_page", "unpin_user_page_on_a_plain_page"): (TypeError, r"unpin_user_page\(\): page must be a PinnedPage, got Page: a plain reference"),
    ("unpin_plain_page", "unpin_user_pages_on_plain_pages"): (TypeError, r"pages\[0\] must be a PinnedPage, got Page: a plain reference"),
    ("unpin_plain_page", "unpin_dirty_on_plain_pages"): (TypeError, r"pages\[0\] must be a PinnedPage, got Page: a plain reference"),
    ("unpin_plain_page", "vaddr_unpin_on_plain_pages"): (TypeError, r"pages\[0\] must be a PinnedPage, got Page: a plain reference"),
    ("unpin_plain_page", "unpin_a_plain_page_out_of_an_sg_table"): (TypeError, r"pages\[0\] must be a PinnedPage, got Page: a plain reference"),
    ("unpin_plain_page", "unpin_a_kernel_page"): (TypeError, r"page must be a PinnedPage, got KernelPage: kernel memory"),
    # FOLL_PIN and FOLL_GET are absent from the contract (pinapi.lowlevel has them); FOLL_PIN is refused at run time.
    ("foll_pin_at_call_site", "foll_pin_passed_to_the_pin_api"): (AttributeError, r"no attribute 'FOLL_PIN'"),
    ("foll_pin_at_call_site", "foll_pin_by_value"): (KernelError, r"EINVAL: FOLL_PIN \(and FOLL_FAST_ONLY\) are set by GUP"),
    ("foll_pin_at_call_site", "foll_get_passed_to_get_user_pages"): (AttributeError, r"no attribute 'FOLL_GET'"),
    ("longterm_plain_reference", "longterm_get_user_pages"): (KernelError, r"FOLL_LONGTERM requires FOLL_PIN"),
    ("longterm_plain_reference", "longterm_write_get_user_pages"): (KernelError, r"FOLL_LONGTERM requires FOLL_PIN"),
    ("longterm_plain_reference", "longterm_follow_page"): (KernelError, r"follow_page\(\) takes only FOLL_WRITE"),
    ("data_through_plain_page", "memcpy_to_a_plain_page"): (TypeError, r"case 5"),
    ("data_through_plain_page", "memcpy_from_a_plain_page"): (TypeError, r"case 5"),
    ("data_through_plain_page", "memcpy_to_a_followed_page"): (TypeError, r"case 5"),
    ("data_through_plain_page", "write_method_on_a_plain_page"): (AttributeError, r"'Page' object has no attribute 'write'"),
    ("handle_internals", "page_out_of_a_pin"): (PinnedPagePutWarning, r"put_page\(\) on a pinned page"),
    ("handle_internals", "pages_out_of_a_pin_batch"): (PinnedPagePutWarning, r"put_page\(\) on a pinned page"),
    ("handle_internals", "swap_a_pin_in_a_batch"): (TypeError, r"does not support item assignment"),
    ("construct_handle", "construct_a_pinned_page"): (TypeError, r"no public constructor"),
    ("construct_handle", "construct_a_pin_batch"): (TypeError, r"no public constructor"),
    ("construct_handle", "construct_a_kernel_page"): (TypeError, r"no public constructor"),
    ("construct_handle", "construct_an_sg_table"): (TypeError, r"no public constructor"),
    ("construct_handle", "construct_an_sg_entry"): (TypeError, r"no public constructor"),
    ("construct_handle", "fabricate_a_plain_page"): (KernelBug, r"freeing a mapped or pinned folio"),
    ("deprecated_legacy_api", "call_get_user_pages"): (DeprecationWarning, r"use vaddr_pin_pages\(\)"),
    ("struct_page_call_on_pin", "get_page_on_a_pin"): (TypeError, r"get_page\(\): page must be a Page or a KernelPage, got PinnedPage: a pin"),
    ("struct_page_call_on_pin", "set_page_dirty_lock_on_a_pin"): (TypeError, r"set_page_dirty_lock\(\): page must be a Page, got PinnedPage: a pin"),
    ("pin_stored_as_page", "pins_in_a_list_of_pages"): (TypeError, r"release_pages\(\): pages\[\d\] must be a Page, got PinnedPage: a pin"),
    ("pin_stored_as_page", "pins_in_a_bare_sg_table"): (TypeError, r"put_page\(\): page must be a Page or a KernelPage, got PinnedPage: a pin"),
    ("put_page_on_bvec", "put_page_on_a_segment"): (TypeError, r"put_page\(\): page must be a Page or a KernelPage, got BvecSegment: a segment"),
    ("put_page_on_bvec", "release_pages_on_a_bvec"): (TypeError, r"release_pages\(\): pages\[0\] must be a Page, got BvecSegment: a segment"),
    ("put_page_on_bvec", "put_page_after_an_sg_round_trip"): (TypeError, r"put_page\(\): page must be a Page or a KernelPage, got BvecSegment: a segment"),
    ("put_user_bvec_on_pins", "put_user_bvec_on_a_pin_batch"): (TypeError, r"bvec must be a PinnedBvec, got PinnedPages: the pins of one vaddr_pin_pages\(\)"),
    ("put_user_bvec_on_pins", "put_user_bvec_on_a_list_of_pins"): (TypeError, r"bvec must be a PinnedBvec, got list"),
    ("unpin_bvec", "unpin_user_pages_on_a_bvec"): (TypeError, r"pages\[0\] must be a PinnedPage, got BvecSegment: a segment"),
    ("unpin_bvec", "unpin_dirty_on_a_bvec"): (TypeError, r"pages\[0\] must be a PinnedPage, got BvecSegment: a segment"),
    ("unpin_bvec", "unpin_user_page_on_a_segment"): (TypeError, r"page must be a PinnedPage, got BvecSegment: a segment"),
    ("pin_without_owner", "vaddr_pin_pages_for_nobody"): (KernelError, r"EINVAL: vaddr_pin names no owner"),
    ("pin_without_owner", "get_user_bvec_for_nobody"): (KernelError, r"EINVAL: vaddr_pin names no owner"),
    ("write_through_read_pin", "write_method_on_a_read_pin"): (KernelError, r"EPERM: write through a pin taken without FOLL_WRITE"),
    ("write_through_read_pin", "memcpy_to_a_read_pin"): (KernelError, r"EPERM: write through a pin taken without FOLL_WRITE"),
    ("write_through_read_pin", "write_a_read_bvec_segment"): (KernelError, r"EPERM: write through a pin taken without FOLL_WRITE"),
    ("write_through_read_pin", "write_a_read_pin_out_of_an_sg_table"): (KernelError, r"EPERM: write through a pin"),
    ("write_through_read_pin", "for_write_on_a_read_pin"): (KernelError, r"EPERM: write through a pin taken without FOLL_WRITE"),
    ("write_through_read_pin", "write_before_checking_the_flags"): (KernelError, r"EPERM: write through a pin"),
    # EINVAL with the pins still live: the with block releases them clean.
    ("dirty_read_pin", "unpin_dirty_a_read_pin"): (KernelError, r"EINVAL: make_dirty on a pin taken without FOLL_WRITE"),
    ("dirty_read_pin", "unpin_dirty_a_longterm_read_pin"): (KernelError, r"EINVAL: make_dirty on a pin taken without"),
    ("dirty_read_pin", "vaddr_unpin_dirty_a_read_pin"): (KernelError, r"EINVAL: make_dirty on a pin taken without FOLL_WRITE"),
    ("dirty_read_pin", "put_user_bvec_dirty_on_a_read_bvec"): (KernelError, r"EINVAL: make_dirty on a pin taken without"),
    ("forge_handle", "new_a_pinned_page"): (TypeError, r"PinnedPage has no public constructor"),
    ("forge_handle", "new_a_pin_batch"): (TypeError, r"PinnedPages has no public constructor"),
    ("forge_handle", "register_a_pin_as_a_kernel_page"): (TypeError, r"KernelPage takes no virtual subclasses"),
    ("forge_handle", "reclass_a_pin"): (TypeError, r"a PinnedPage cannot change its class"),
    ("forge_handle", "reclass_a_kernel_page"): (TypeError, r"a KernelPage cannot change its class"),
    ("forge_handle", "subclass_a_pin"): (TypeError, r"FakePin: a handle class cannot be subclassed"),
    ("plain_reference_flags", "built_up_flags_to_get_user_pages"): (KernelError, r"FOLL_LONGTERM requires FOLL_PIN"),
    ("plain_reference_flags", "built_up_flags_to_follow_page"): (KernelError, r"takes only FOLL_WRITE and FOLL_FORCE"),
    ("plain_reference_flags", "longterm_force_to_follow_page"): (KernelError, r"takes only FOLL_WRITE and FOLL_FORCE"),
    ("sg_kind", "sg_table_of_no_kind"): (TypeError, r"missing 1 required positional argument: 'kind'"),
    ("sg_kind", "pin_into_a_table_of_pages"): (TypeError, r"sg table of Page given a PinnedPage"),
    ("sg_kind", "read_pin_into_a_table_of_write_pins"): (TypeError, r"sg table of PinnedPage\[Write\] given a PinnedPage pinned without FOLL_WRITE"),
}  # fmt: skip

#: Cases that exist only in the types, with the reason nothing can run.
STATIC_ONLY: dict[tuple[str, str], str] = {
    ("mixed_pages", "a_table_typed_to_hold_both"): "an annotation: no value is ever built",
}


def _load(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(f"misuse_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def gallery() -> list[tuple[str, str, Callable[[MM, int], None]]]:
    cases = []
    for path in sorted(MISUSE.glob("*.py")):
        module = _load(path)
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if fn.__module__ == module.__name__:
                cases.append((path.stem, name, fn))
    return cases


CASES = gallery()


def test_every_gallery_case_is_accounted_for() -> None:
    found = {(f, n) for f, n, _ in CASES}
    assert found == set(EXPECTED) | set(STATIC_ONLY)
    assert not set(EXPECTED) & set(STATIC_ONLY)


@pytest.mark.parametrize(("fn", "expected"), [
    pytest.param(fn, EXPECTED[(f, n)], id=f"{f}.{n}") for f, n, fn in CASES if (f, n) in EXPECTED
])  # fmt: skip
def test_run_time_catches(mm: MM, fn: Callable[[MM, int], None],
                          expected: tuple[type[BaseException], str]) -> None:  # fmt: skip
    exc, message = expected
    buf = mm.mmap(16 * PAGE_SIZE)
    mm.write(buf, b"\x5a" * (16 * PAGE_SIZE))
    before = state(mm)
    with pytest.raises(exc, match=message):
        fn(mm, buf)
    assert state(mm) == before
