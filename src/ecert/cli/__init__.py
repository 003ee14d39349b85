"""Command-line interface: a thin shell over the library.

Only argument parsing and printing live here; every decision is made by library
code a Python user can call too.  Each command group is a module of this package
exposing ``register(subparsers)``; ``main(argv) -> int`` is the only place that
prints errors and returns exit codes:

* 0 - success / valid
* 1 - the input was processed and found invalid
* 2 - usage error or unreadable input
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import sys
from collections.abc import Sequence
from typing import Any

from ecert.errors import EcertError

# command-group modules, in the order they appear in --help
_COMMAND_MODULES = (
    "ecert.cli.demo",
    "ecert.cli.ids",
    "ecert.cli.catalog",
    "ecert.cli.collect",
    "ecert.cli.keys",
    "ecert.cli.issue",
    "ecert.cli.verify",
    "ecert.cli.annotate",
    "ecert.cli.qr",
    "ecert.cli.registry",
    "ecert.cli.batch",
    "ecert.cli.window",
    "ecert.cli.serve",
    "ecert.cli.share",
    "ecert.cli.bundle",
    "ecert.cli.exchange",
)

# command -> the module that registers it: ``ecert id check`` imports only ecert.cli.ids (and what it
# needs), not every group's library layers; ``--help`` and unknown commands still build them all.
# tests/test_cli_startup.py keeps this table equal to what the modules register.
_COMMANDS = {
    "demo": "ecert.cli.demo",
    "id": "ecert.cli.ids",
    "code": "ecert.cli.ids",
    "types": "ecert.cli.catalog",
    "collect": "ecert.cli.collect",
    "keygen": "ecert.cli.keys",
    "cert": "ecert.cli.keys",
    "crypto": "ecert.cli.keys",
    "issue": "ecert.cli.issue",
    "replace": "ecert.cli.issue",
    "verify": "ecert.cli.verify",
    "inspect": "ecert.cli.verify",
    "annotate": "ecert.cli.annotate",
    "qr": "ecert.cli.qr",
    "render": "ecert.cli.qr",
    "registry": "ecert.cli.registry",
    "batch": "ecert.cli.batch",
    "window": "ecert.cli.window",
    "serve": "ecert.cli.serve",
    "share": "ecert.cli.share",
    "bundle": "ecert.cli.bundle",
    "exchange": "ecert.cli.exchange",
}

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose usage errors exit with 2 and one readable line."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _modules_for(argv: Sequence[str] | None) -> tuple[str, ...]:
    """The command-group modules needed to parse ``argv``: the command's own, or all of them."""
    if not argv:  # None or empty: the help lists every command
        return _COMMAND_MODULES
    # the top level has no option but --help (every command again); a command comes first
    module = _COMMANDS.get(argv[0])
    return (module,) if module is not None and module in _COMMAND_MODULES else _COMMAND_MODULES


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser for ``argv`` (every command when ``argv`` is None); see ``_COMMANDS``."""
    parser = _Parser(
        prog="ecert",
        description="Electronic certificates and licences (电子证照): collect, issue, sign, verify.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from ecert import __version__

    parser.add_argument("--version", action="version", version=f"ecert {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in _modules_for(argv):
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:  # a command group not built yet
            if exc.name == name:
                continue
            raise
        module.register(sub)
    _describe(sub)
    return parser


def _describe(sub: argparse._SubParsersAction[Any]) -> None:
    """Every command's ``--help`` opens with a description line: its one-line help where it has
    no description of its own (argparse shows ``help=`` only in the parent's list), at every level."""
    helps = {a.dest: a.help for a in sub._choices_actions}
    for name, parser in sub.choices.items():
        if not parser.description and helps.get(name):
            text = str(helps[name])
            parser.description = text[0].upper() + text[1:] + ("" if text.endswith(".") else ".")
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                _describe(action)


def _tolerant_output() -> None:
    """Never fail printing: a strict stdout/stderr escapes what it cannot encode.

    Commands echo their input, and a non-UTF-8 argument (GBK bytes under a UTF-8 locale) arrives
    as lone surrogates that a strict UTF-8 stream refuses with UnicodeEncodeError; the user gets
    ``\\udcd6`` instead of a traceback.  Streams already tolerant (surrogateescape in the C locale
    gives the original bytes back) and streams that cannot be reconfigured are left alone.
    """
    for stream in (sys.stdout, sys.stderr):
        if getattr(stream, "errors", None) == "strict" and hasattr(stream, "reconfigure"):
            with contextlib.suppress(OSError, ValueError, AttributeError):  # closed or detached
                stream.reconfigure(errors="backslashreplace")


def _reader_left() -> int:
    """Output piped into ``head`` that stopped reading: not an error (no "Broken pipe" message).

    What is still buffered would fail again when Python flushes stdout at exit: point stdout at
    /dev/null first (the recipe of the Python documentation, "Note on SIGPIPE")."""
    import os

    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    _tolerant_output()
    if argv is None:
        argv = sys.argv[1:]
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(handler(args))
    except EcertError as exc:
        print(f"ecert: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        return _reader_left()
    except OSError as exc:
        print(f"ecert: error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("ecert: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
