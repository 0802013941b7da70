"""The ``kneeemg`` command line.

Each sub-command lives in its own module of this package with two functions:
``register(subparsers)`` adds its parser (and ``set_defaults(func=run)``), and
``run(args) -> int`` calls library functions and prints. The CLI holds no logic of its
own; it is the only place that configures logging and prints.
"""

from __future__ import annotations

import argparse
import logging
import sys
from importlib import import_module
from typing import Sequence

from ..errors import KneeEmgError

#: Sub-command modules, in the order ``kneeemg --help`` lists them.
COMMANDS: tuple[str, ...] = (
    "demo",
    "simulate",
    "replay",
    "record",
    "devices",
    "importcmd",
    "nights",
    "trends",
    "diary",
    "triage",
    "report",
    "batch",
    "bench",
)


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, like the commands' own."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}; see `{self.prog} --help`\n")


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = _Parser(
        prog="kneeemg",
        description="Count knee twitches, spasms and cramps in overnight surface EMG.",
    )
    parser.add_argument("--version", action="version", version=f"kneeemg {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        import_module(f"{__name__}.{name}").register(sub)
    parser.commands = sub.choices  # each command's parser, to say an unknown option in its name
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        parser = build_parser()
        args, extra = parser.parse_known_args(argv)
        if extra:  # said by the command's own parser, which points to its own --help
            parser_of = parser.commands.get(args.command, parser) if args.command else parser
            parser_of.error(f"unrecognized arguments: {' '.join(extra)}")
        args.argv = list(sys.argv[1:] if argv is None else argv)  # the command as given (benchmarks record it)
        level = logging.WARNING - 10 * min(args.verbose, 2)
        logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
        if not getattr(args, "func", None):
            parser.print_help()
            return 2
        return int(args.func(args) or 0)
    except KneeEmgError as exc:
        print(f"kneeemg: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("kneeemg: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into a program that stopped reading (| head)
        sys.stderr.close()
        return 0
    except OSError as exc:  # a file or folder the library did not check first
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"kneeemg: error: {where}{exc.strerror or exc}; check the path and its permissions", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
