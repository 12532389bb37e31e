"""``pinapi`` / ``python -m pinapi``: the command line.

Every error (a bad command line, a bad input, a tool that failed) is one line
on stderr and exit status 2. A command imports only its own module, so that
``pinapi check`` starts without the lab's experiments.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Final, NoReturn

from ._tools import CommandError
from ._tools.report import pinapi_version

DESCRIPTION = """\
A typed, executable model of the Linux kernel's user-page pinning API
(vaddr_pin_pages(), unpin_user_page(), get_user_bvec()), and the tools
around it. "check" and "run PATH" work on your own driver code; "run"
without a PATH, "drivers" and "review" need the pinapi source checkout.
"""


#: Each command: the module and the function that adds its parser.
COMMANDS: Final = {
    "check": ("._tools.check", "add_check_parser"),
    "run": ("._tools.run", "add_run_parser"),
    "bench": ("._lab.bench_report", "add_bench_parser"),
    "drivers": ("._lab.drivers_table", "add_drivers_parser"),
    "review": ("._lab.review", "add_review_parser"),
}


class Parser(argparse.ArgumentParser):
    """argparse whose usage errors are one line, exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def parser(command: str | None = None) -> Parser:
    """The command line: *command*'s subcommand only, when it is one; else every one."""
    top = Parser(prog="pinapi", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter,
                 epilog="exit status: 0 success, 1 findings (misuse, failed scenarios), 2 usage or tool failure")
    top.add_argument("--version", action="version", version=f"pinapi {pinapi_version()}")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND",
                             help="one of these; pinapi COMMAND --help for its options")
    for name in [command] if command in COMMANDS else COMMANDS:
        module, add = COMMANDS[name]
        getattr(importlib.import_module(module, __package__), add)(sub)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser(next((a for a in argv if not a.startswith("-")), None)).parse_args(argv)
    try:
        result: int = args.func(args)
    except CommandError as e:
        print(f"pinapi {args.command}: {e}", file=sys.stderr)
        return 2
    return result


if __name__ == "__main__":
    sys.exit(main())
