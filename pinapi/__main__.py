"""``python -m pinapi``: the command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ._lab.drivers_table import add_drivers_parser
from ._lab.review import add_review_parser
from ._tools.bench import add_bench_parser
from ._tools.check import add_check_parser
from ._tools.run import add_run_parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pinapi", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    add_run_parser(sub)
    add_bench_parser(sub)
    add_drivers_parser(sub)
    add_check_parser(sub)
    add_review_parser(sub)
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
