"""The ``linegate`` command: subcommands, and the one place errors become exit codes.

Exit codes:
    0    success
    1    the command ran but some of its inputs failed (each named on stderr),
         or the board or the link to it failed (unreachable, closed, no answer),
         or the CTI socket did (no server, closed, no reply) or its server
         refused what was asked (its error code and message on stderr),
         or `linegate cti call`'s call was never connected
    2    bad input or bad usage: a one-line message on stderr (also a CTI
         request its server could not take: bad-args, unknown-op, ...)
    3    the compiled DSP core (or the board simulator) is missing, stale or failed
    4    a signature does not verify, or the signing key is not trusted
    5    the input is sound but does not fit its target: a firmware image for
         another board kind or hardware revision, a downgrade not allowed, a
         payload larger than the slot
    6    `linegate sim --power-cut-after-writes N`: the simulated board's power was cut
    130  interrupted (Ctrl-C)
Any other exception is a bug and propagates with its traceback.
"""

from __future__ import annotations

import argparse
import os
import sys

import gateway
from gateway.errors import (CtiError, CtiRequestError, IncompatibleError, InputError, LinkError, NativeError,
                            SignatureError, UsageError)

EXIT_OK = 0
EXIT_PARTIAL_FAILURE = 1
EXIT_BAD_INPUT = 2
EXIT_NATIVE = 3
EXIT_UNTRUSTED = 4
EXIT_INCOMPATIBLE = 5
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for `linegate ... | head`

PROG = "linegate"


class CommandLineError(UsageError):
    """The command line itself is wrong (unknown option, bad value)."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser that raises instead of exiting, so that ``main`` maps
    every error to its exit code in one place and stays callable in-process."""

    def error(self, message):
        raise CommandLineError(f"{self.prog}: {message} (see `{self.prog} --help`)")


def build_parser() -> argparse.ArgumentParser:
    # Imported here so that `linegate --version` works even when a subcommand's
    # dependencies (the compiled core) cannot be loaded.
    from gateway.tools import analyze, capture, config, cti, demo, flash, image, linetest, monitor, probe, serve, sim, status

    parser = _Parser(prog=PROG, description="Linegate telephony gateway: tools for technicians and operators.")
    parser.add_argument("--version", action="version", version=f"{PROG} {gateway.__version__}")
    subcommands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subcommands.required = True
    analyze.add_parser(subcommands)
    image.add_parser(subcommands)
    sim.add_parser(subcommands)
    probe.add_parser(subcommands)
    flash.add_parser(subcommands)
    config.add_parser(subcommands)
    status.add_parser(subcommands)
    linetest.add_parser(subcommands)
    monitor.add_parser(subcommands)
    capture.add_parser(subcommands)
    cti.add_parser(subcommands)
    serve.add_parser(subcommands)
    demo.add_parser(subcommands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    try:
        parser = build_parser()
        try:
            args = parser.parse_args(argv)
        except SystemExit as stop:  # --help and --version print and "exit" successfully
            return stop.code if isinstance(stop.code, int) else EXIT_OK
        return args.run(args)
    except SignatureError as exc:  # before InputError, of which these are kinds
        _complain(str(exc))
        return EXIT_UNTRUSTED
    except IncompatibleError as exc:
        _complain(str(exc))
        return EXIT_INCOMPATIBLE
    except InputError as exc:
        _complain(str(exc))
        return EXIT_BAD_INPUT
    except CtiRequestError as exc:  # the CTI server could not take the request (bad-args, unknown-op...)
        _complain(str(exc))
        return EXIT_BAD_INPUT
    except CtiError as exc:  # the CTI server refused what was asked (not-found, wrong-state...)
        _complain(str(exc))
        return EXIT_PARTIAL_FAILURE
    except CommandLineError as exc:
        _complain(str(exc), prefixed=True)
        return EXIT_BAD_INPUT
    except UsageError as exc:
        _complain(str(exc))
        return EXIT_BAD_INPUT
    except LinkError as exc:
        _complain(str(exc))
        return EXIT_PARTIAL_FAILURE
    except NativeError as exc:
        _complain(str(exc))
        return EXIT_NATIVE
    except KeyboardInterrupt:
        _complain("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader of our output went away (`| head`): not an error of ours.
        # Point stdout at devnull so the interpreter's final flush stays quiet.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE


def _complain(message: str, prefixed: bool = False) -> None:
    print(message if prefixed else f"{PROG}: {message}", file=sys.stderr)


if __name__ == "__main__":  # python -m gateway.tools.cli
    sys.exit(main())
