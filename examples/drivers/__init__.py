"""Every file of the 2019 put_user_pages() call-site series (seed 001's
diffstat, 47 files), modelled against the pin contract.

One module per call site, or per driver where its files share one pattern.
Each module's docstring says what the kernel code does with the pages, which
case of pin_user_pages.rst it is, the API that case takes here and why, and
where the classification is a judgement call, what the kernel did later. Its
constants (``SUBSYSTEM``, ``KERNEL_FILES``, ``FUNCTIONS``, ``CASE``, ``API``,
``CONTAINER``, ``RELEASE``, ``JUDGEMENT``) feed the table in docs/drivers.md,
and its ``scenario()`` drives the call site end to end.

Two files of the series are not call sites but the API itself, so no module
here models them: ``mm/gup.c`` (``put_user_pages_dirty_lock()`` gained its
``make_dirty`` argument in patch 01; here ``pinapi/_gup.py`` and
``pinapi/_pin.py``: ``vaddr_pin_pages()`` and the unpin calls) and
``include/linux/mm.h`` (their declarations; here ``stubs/pinapi/__init__.pyi``).
"""

API_ITSELF = ("mm/gup.c", "include/linux/mm.h")
