"""The ``vbcsim`` command.

    vbcsim run SCENARIO [--replications R] [--seed S] [--out DIR] [--workers W]
                        [--quiet] [--overwrite] [--debug]
    vbcsim validate FILE [FILE ...]
    vbcsim --version

Every argument and the scenario are checked before anything runs. Errors go to stderr as one
``vbcsim: error: ...`` line (a traceback only with ``--debug``). Exit codes: 0 success,
1 the run failed, 2 bad input (arguments or scenario), 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130
PROG = "vbcsim"


class UsageError(Exception):
    """A command-line argument was refused (exit code 2)."""


# --------------------------------------------------------------------------- argument types


def _whole_number(minimum: int, what: str):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value

    parse.__name__ = what  # argparse names the type in some messages
    return parse


positive_int = _whole_number(1, "a whole number of 1 or more")
non_negative_int = _whole_number(0, "a whole number of 0 or more")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``vbcsim`` command."""
    from sim import __version__

    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Simulate what a healthcare payment model does to care, cost and money.",
    )
    parser.add_argument("--debug", action="store_true",
                        help="show the full traceback when something fails")
    # Subcommands accept --debug too (after the subcommand); SUPPRESS keeps an earlier
    # `vbcsim --debug run ...` from being reset to False by the subcommand's default.
    debug = argparse.ArgumentParser(add_help=False)
    debug.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="show the full traceback when something fails")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    run = sub.add_parser(
        "run", parents=[debug], help="run a scenario and write its results",
        description="Run the Monte Carlo replications of a scenario, print a summary (mean "
        "and 95% interval per metric) and write the results directory.",
    )
    run.add_argument("scenario", metavar="SCENARIO", type=Path, help="scenario YAML file")
    run.add_argument("--replications", "-r", metavar="R", type=positive_int,
                     help="number of replications (default: the scenario's)")
    run.add_argument("--seed", "-s", metavar="S", type=non_negative_int,
                     help="root random seed (default: the scenario's)")
    run.add_argument("--out", "-o", metavar="DIR", type=Path,
                     help="results directory (default: results/<scenario name>)")
    run.add_argument("--workers", "-w", metavar="W", type=positive_int,
                     help="worker processes; 1 runs in this process; results do not depend "
                     "on it (default: one per CPU, at most one per replication)")
    run.add_argument("--quiet", "-q", action="store_true",
                     help="no progress bar and no messages; the summary is still printed")
    run.add_argument("--overwrite", action="store_true",
                     help="replace an existing results directory")
    run.set_defaults(handler=_cmd_run)

    validate = sub.add_parser(
        "validate", parents=[debug], help="check scenario files without running them",
        description="Check scenario files (with what they extend); exit 2 if any is refused.",
    )
    validate.add_argument("files", metavar="FILE", nargs="+", type=Path,
                          help="scenario YAML file(s)")
    validate.set_defaults(handler=_cmd_validate)
    return parser


# --------------------------------------------------------------------------- commands


def _load(path: Path, what: str):
    """Load a scenario file; a missing file is a usage error naming the argument."""
    from sim.scenario import load_scenario

    if not path.exists():
        raise UsageError(f"argument {what}: no such file: {str(path)!r}")
    if not path.is_file():
        raise UsageError(f"argument {what}: not a file: {str(path)!r}")
    return load_scenario(path)


def _cmd_validate(args: argparse.Namespace, argv: Sequence[str], out: TextIO) -> int:
    from sim.scenario import ScenarioError

    status = EXIT_OK
    for path in args.files:
        try:
            scenario = _load(path, "FILE")
        except (ScenarioError, UsageError, OSError) as exc:
            _report(exc, args.debug)
            status = EXIT_BAD_INPUT
            continue
        print(
            f"{path}: ok (scenario {scenario.name!r}: {scenario.population.size:,} patients, "
            f"{scenario.horizon_years} year(s), {scenario.replications} replication(s))",
            file=out,
        )
    return status


def _cmd_run(args: argparse.Namespace, argv: Sequence[str], out: TextIO) -> int:
    from sim.results import ResultsDirError, check_results_dir
    from sim.runner import OverrideError, apply_overrides, run

    # Everything is checked before anything runs.
    scenario = _load(args.scenario, "SCENARIO")
    try:
        scenario = apply_overrides(scenario, replications=args.replications, seed=args.seed)
    except OverrideError as exc:
        raise UsageError(f"argument --{exc.name}: {exc.message}") from None
    out_dir = args.out if args.out is not None else Path("results") / scenario.name
    try:
        check_results_dir(out_dir, overwrite=args.overwrite)
    except ResultsDirError as exc:
        raise UsageError(f"argument --out: {exc}") from None

    if not args.quiet:
        print(f"Running {scenario.name}: {scenario.replications} replication(s), "
              f"seed {scenario.seed} ...", file=sys.stderr)
    t0 = time.perf_counter()
    result = run(scenario, workers=args.workers, progress=False if args.quiet else None)
    elapsed = time.perf_counter() - t0

    print(result.format_summary(), file=out)
    written = result.to_dir(
        out_dir,
        command=shlex.join([PROG, *argv]),
        overwrite=args.overwrite,
        source=args.scenario,
    )
    if not args.quiet:
        print(f"\nResults written to {written}/ ({elapsed:.1f} s, {result.workers} worker(s))",
              file=sys.stderr)
    return EXIT_OK


# --------------------------------------------------------------------------- entry point


def _report(exc: BaseException, debug: bool) -> None:
    if debug:
        traceback.print_exception(exc, file=sys.stderr)
    message = str(exc) or type(exc).__name__
    print(f"{PROG}: error: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``vbcsim`` command with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has printed usage and the error (or help/version)
        return exc.code if isinstance(exc.code, int) else (EXIT_OK if exc.code is None else 2)

    from sim.scenario import ScenarioError

    try:
        return args.handler(args, argv, sys.stdout)
    except (UsageError, ScenarioError) as exc:
        _report(exc, args.debug)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; nothing was written", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. `vbcsim run x | head`: stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILED
    except Exception as exc:
        _report(exc, args.debug)
        if not args.debug:
            print(f"{PROG}: (run with --debug for the traceback)", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
