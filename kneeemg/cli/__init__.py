"""The ``kneeemg`` command line.

Each sub-command lives in its own module of this package with two functions:
``register(subparsers)`` adds its parser (and ``set_defaults(func=run)``), and
``run(args) -> int`` calls library functions and prints. The CLI holds no logic of its
own; it is the only place that configures logging and prints.
"""

from __future__ import annotations

import _thread
import argparse
import contextlib
import errno
import logging
import os
import signal
import sys
import threading
from importlib import import_module
from typing import Sequence

from ..errors import DISK_FULL, KneeEmgError
from ..paths import path_text

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
        if message.endswith(("required: FILE", "required: INPUTS")) and any(
                a.option_strings == ["--channels"] and a.nargs == "+" for a in self._actions):
            # (--channels takes several values: given before the file, it takes the file too)
            message += " (if --channels came before it, --channels took it as a channel: give --channels after it)"
        self.exit(2, f"{self.prog}: error: {message}; see `{self.prog} --help`\n")


class _CtrlC:
    """Notes a Ctrl-C (SIGINT) while a command runs; it still raises KeyboardInterrupt at once.

    numba, interrupted while it compiles a kernel for the first time, can lose the
    KeyboardInterrupt: raised inside a C callback (llvmlite's object cache), Python only
    prints it as "Exception ignored" and goes on, so it is raised again a moment later; and numba
    can raise an error of its own in its place (``RuntimeError: no compiled object yet``),
    so an unexpected error after a Ctrl-C is taken for the Ctrl-C. Installed only where
    Python's own handler is (the main thread; SIGINT not ignored).
    """

    seen = False
    _installed = False
    _again: threading.Timer | None = None

    def __enter__(self) -> "_CtrlC":
        if threading.current_thread() is threading.main_thread() \
                and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            signal.signal(signal.SIGINT, self._note)
            self._hook, sys.unraisablehook = sys.unraisablehook, self._unraisable
            self._installed = True
        return self

    def _note(self, signum: int, frame: object) -> None:
        self.seen = True
        raise KeyboardInterrupt

    def _unraisable(self, info: object) -> None:
        if getattr(info, "exc_type", None) is KeyboardInterrupt and self.seen:
            # lost in a C callback: raised again a moment later, once the callback has returned
            self._again = threading.Timer(0.01, _thread.interrupt_main)
            self._again.start()
            return
        self._hook(info)

    def __exit__(self, *exc: object) -> None:
        if self._again is not None:
            self._again.cancel()
        if self._installed:
            sys.unraisablehook = self._hook
            if signal.getsignal(signal.SIGINT) == self._note:  # a command may have set its own
                signal.signal(signal.SIGINT, signal.default_int_handler)


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
    for command in _leaf_parsers(sub):  # -v also after the command (kneeemg replay -v FILE); the two counts add up
        command.add_argument("-v", "--verbose", dest="verbose_after", action="count", default=0,
                             help="more log output (-vv for debug); also accepted before the command")
    parser.commands = sub.choices  # each command's parser, to say an unknown option in its name
    return parser


def _leaf_parsers(sub: argparse._SubParsersAction) -> list[argparse.ArgumentParser]:
    """The parsers that end a command line: each command's, or its own commands' (bench speed)."""
    leaves = []
    for p in dict.fromkeys(sub.choices.values()):  # (an alias names the same parser)
        nested = [a for a in p._actions if isinstance(a, argparse._SubParsersAction)]
        leaves += _leaf_parsers(nested[0]) if nested else [p]
    return leaves


def run() -> None:
    """The ``kneeemg`` command: :func:`main`, then the process ends with its exit code.

    A live detector still compiling its kernels when a recording was stopped early (a
    Ctrl-C in its first half minute) is left behind on its thread; the process then ends at
    once, its output flushed and its files closed, instead of through the interpreter's
    shutdown, which stopping that thread inside the compiler sometimes crashed (exit code 134
    or 139).
    """
    code = main()
    recorder = sys.modules.get("kneeemg.record.recorder")
    if recorder is not None and any(t.name == recorder.DETECTOR_THREAD and t.is_alive() for t in threading.enumerate()):
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        logging.shutdown()
        os._exit(code)
    sys.exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    with _CtrlC() as ctrl_c:
        try:
            return _main(argv)
        except KneeEmgError as exc:
            print(f"kneeemg: error: {path_text(str(exc))}", file=sys.stderr)
            return exc.exit_code
        except KeyboardInterrupt:
            print("kneeemg: interrupted", file=sys.stderr)
            return 130
        except BrokenPipeError:  # output piped into a program that stopped reading (| head)
            sys.stderr.close()
            return 0
        except OSError as exc:  # a file or folder the library did not check first
            where = f"{exc.filename}: " if exc.filename else ""
            if exc.errno == errno.ENOSPC:
                print(f"kneeemg: error: {path_text(where)}{DISK_FULL}", file=sys.stderr)
                return 1
            print(f"kneeemg: error: {path_text(where)}{exc.strerror or exc}; check the path and its permissions", file=sys.stderr)
            return 1
        except Exception:
            if ctrl_c.seen:  # the Ctrl-C, lost inside numba's compiler (see _CtrlC)
                print("kneeemg: interrupted", file=sys.stderr)
                return 130
            raise


def _main(argv: Sequence[str] | None) -> int:
    for stream in (sys.stdout, sys.stderr):  # a file name that is not UTF-8 is shown, not a crash
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # said by the command's own parser, which points to its own --help
        parser_of = parser.commands.get(args.command, parser) if args.command else parser
        parser_of.error(f"unrecognized arguments: {' '.join(extra)}")
    args.argv = list(sys.argv[1:] if argv is None else argv)  # the command as given (benchmarks record it)
    args.verbose += getattr(args, "verbose_after", 0)  # -v before the command and after it (commands read args.verbose)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

