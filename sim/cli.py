"""The ``vbcsim`` command.

    vbcsim run SCENARIO|NAME|EXPERIMENT [--set PATH=VALUE ...] [--quick]
                        [--replications R] [--seed S] [--out DIR | --resume DIR]
                        [--workers W | --scheduler ADDRESS | --dask-local N]
                        [--task-timeout SECONDS] [--force] [--quiet] [--overwrite] [--debug]
    vbcsim compare A.yaml B.yaml [...] | EXPERIMENT.yaml [--reference NAME] [--no-crn]
                        [--wtp USD ...] [--discount-rate R] [--align-horizon shortest]
                        [run options]
    vbcsim sensitivity SCENARIO --metric M (--tornado PATH[=LOW:HIGH] ... | --sobol N)
                        [--entity E] [--replications R] [--seed S] [--out DIR] [...]
    vbcsim validate FILE [FILE ...] [--set PATH=VALUE ...]
    vbcsim scenarios [--dir DIR] [--copy NAME DIR]
    vbcsim report RESULTS_DIR [RESULTS_DIR ...] [-o FILE] [--title T] [--overwrite]
                        [--align-horizon shortest]
    vbcsim calibrate CALIBRATION.yaml [--out DIR] [--resume | --overwrite] [--workers W]
                        [--max-evaluations N]
    vbcsim voi RESULTS_DIR [--wtp USD ...] [--discount-rate R] [--perspective P]
                        [--group NAME=PATH,PATH ...] [--population N] [--out DIR]
    vbcsim plan SCENARIO [--replications R] [--size N] [--years Y] [--tornado K] [--out DIR]
    vbcsim --version

A scenario is a file or the name of a shipped scenario (``ffs_baseline``); ``--set`` and
``--quick`` change the scenarios before they are validated (:mod:`sim.scenario.overrides`).
Every argument and the scenario are checked before anything runs. Errors go to stderr as one
``vbcsim: error: ...`` line (a traceback only with ``--debug``). Exit codes: 0 success,
1 the run failed, 2 bad input (arguments or scenario), 130 interrupted (Ctrl-C or SIGTERM).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import shlex
import signal
import sys
import textwrap
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130
PROG = "vbcsim"


class UsageError(Exception):
    """A command-line argument was refused (exit code 2)."""


# --------------------------------------------------------------------------- argument types


def _number(convert: Callable[[str], Any], accept: Callable[[Any], bool], what: str):
    """Argument parser: ``convert(text)`` if that works and ``accept`` takes the value, else
    an argparse error saying ``what`` was expected."""
    def parse(text: str) -> Any:
        try:
            value = convert(text)
        except ValueError:
            value = None
        if value is None or not accept(value):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value

    parse.__name__ = what  # argparse names the type in some messages
    return parse


def _whole_number(minimum: int, what: str):
    return _number(int, lambda v: v >= minimum, what)


positive_int = _whole_number(1, "a whole number of 1 or more")
non_negative_int = _whole_number(0, "a whole number of 0 or more")


def _finite_number(minimum: float, maximum: float, what: str):
    """Parser of a finite float within [minimum, maximum] (nan and inf are refused)."""
    return _number(float, lambda v: math.isfinite(v) and minimum <= v <= maximum, what)


#: Willingness to pay per QALY: any finite amount >= 0.
wtp_usd = _finite_number(0.0, math.inf, "a finite number of USD >= 0")
#: Yearly discount rate: the range of the scenario field economics.discount_rate.
discount_rate = _finite_number(0.0, 0.5, "a number from 0 to 0.5 (economics.discount_rate)")
#: Time limit of one task: finite seconds >= 0 (0: no limit).
seconds = _finite_number(0.0, math.inf, "a finite number of seconds >= 0 (0: no limit)")


class _HelpFormatter(argparse.HelpFormatter):
    """Wraps descriptions and epilogs paragraph by paragraph, but keeps a paragraph whose
    lines after the first are indented (a list of examples) as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        out = []
        for paragraph in text.strip("\n").split("\n\n"):
            lines = paragraph.split("\n")
            if any(line.startswith(" ") for line in lines):
                out.append("\n".join(indent + line for line in lines))
            else:
                out.append(textwrap.fill(" ".join(paragraph.split()), width,
                                         initial_indent=indent, subsequent_indent=indent,
                                         break_on_hyphens=False))
        return "\n\n".join(out)


EPILOG = """\
a study, step by step:
  vbcsim scenarios                                    list the shipped scenarios
  vbcsim validate scenarios/aco_enhanced.yaml         check a scenario file
  vbcsim run ffs_baseline --quick                     a first look at a shipped scenario
  vbcsim run scenarios/ffs_baseline.yaml              run one scenario
  vbcsim scenarios --copy aco_enhanced my_study/      copy one (and its bases) to edit it
  vbcsim compare scenarios/ffs_baseline.yaml scenarios/aco_enhanced.yaml --out results/cmp
  vbcsim report results/cmp -o report.html            HTML report for strategists

Every scenario field, with its unit, default, allowed range and source, is listed in \
docs/scenario-reference.md. Errors are one line on stderr (--debug adds the traceback). \
Exit codes: 0 success, 1 the run failed, 2 bad input, 130 interrupted. Run `vbcsim COMMAND \
--help` for the options of a command."""


def _quick_text() -> str:
    """What --quick sets, e.g. ``population.size=1000, replications=2``."""
    from sim.scenario.overrides import QUICK

    return ", ".join(f"{path}={value}" for path, value in QUICK.items())


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``vbcsim`` command."""
    from sim._version import __version__

    parser = argparse.ArgumentParser(
        prog=PROG, formatter_class=_HelpFormatter, epilog=EPILOG,
        description="Simulate what a healthcare payment model does to care, cost and money: "
        "a population of patients (SimPy processes) generates visits, tests, admissions and "
        "procedures; providers choose how they practise from the incentives of the contracts "
        "that pay them; contracts turn the claims into cash; Monte Carlo replications give "
        "distributions of cost, outcomes and financial risk.",
    )
    parser.add_argument("--debug", action="store_true",
                        help="show the full traceback when something fails")
    # Subcommands accept --debug too (after the subcommand); SUPPRESS keeps an earlier
    # `vbcsim --debug run ...` from being reset to False by the subcommand's default.
    debug = argparse.ArgumentParser(add_help=False)
    debug.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="show the full traceback when something fails")
    code = argparse.ArgumentParser(add_help=False)
    code.add_argument("--allow-code", action="store_true",
                      help="let custom contracts named 'package.module:Class' in the scenario "
                      "files be imported (Python code runs: only for files you trust)")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}",
                        help="show the version of vbcsim and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True,
                                title="commands")

    execution = argparse.ArgumentParser(add_help=False)
    ex = execution.add_argument_group("execution (results never depend on it)")
    ex.add_argument("--workers", "-w", metavar="W", type=positive_int,
                    help="local worker processes; 1 runs in this process (default: one per "
                    "CPU, at most one per replication)")
    ex.add_argument("--scheduler", metavar="ADDRESS",
                    help="run on the Dask cluster whose scheduler is at ADDRESS "
                    "(e.g. tcp://10.0.0.5:8786; needs vbcsim[dask])")
    ex.add_argument("--dask-local", metavar="N", type=positive_int,
                    help="run on a local Dask cluster of N worker processes")
    ex.add_argument("--quiet", "-q", action="store_true",
                    help="no progress bar and no messages; the summary is still printed")
    ex.add_argument("--task-timeout", metavar="SECONDS", type=seconds,
                    help="stop the run when one replication runs longer than SECONDS (0: no "
                    "limit; default: no limit with built-in contracts, a generous multiple "
                    "of the expected time with custom contract code)")
    ex.add_argument("--force", action="store_true",
                    help="run even if the estimated peak memory is above the memory "
                    "available (it is checked before running)")

    changes = argparse.ArgumentParser(add_help=False)
    ch = changes.add_argument_group("changes to the scenario (checked like the file, recorded "
                                    "in the outputs)")
    ch.add_argument("--set", metavar="PATH=VALUE", action="append", dest="overrides",
                    default=[], help="change one scenario field before validation (repeatable; "
                    "VALUE is read as YAML: 2000, 0.3, fixed, [1, 2], {dist: normal, mean: 1, "
                    "sd: 0.1}); list items by name or index, e.g. --set population.size=2000 "
                    "--set providers.primary_care_group.behavior.pass_through=0.3")
    ch.add_argument("--quick", action="store_true",
                    help="a small run for a first look: " + _quick_text() + " (warm-up "
                    "years kept); marked QUICK LOOK in the output and the manifest; --set "
                    "and --replications win over it")
    ch.add_argument("--no-parameter-uncertainty", action="store_true",
                    dest="no_parameter_uncertainty",
                    help="every replication uses the means of the uncertain parameters (the "
                    "{dist: ...} values and the uncertainty: block), so intervals show "
                    "patient-level chance alone (same as --set parameter_uncertainty=false; "
                    "tornado and Sobol analyses already hold the parameters they do not vary "
                    "at their means)")

    engine = argparse.ArgumentParser(add_help=False)
    engine.add_argument("--engine", choices=["des", "fast", "auto"], default=None,
                        help="executor of the care model (the scenario field engine): des, "
                        "the SimPy model; fast, the vectorised executor (same model, equal "
                        "in distribution, several times faster); auto, fast; recorded in "
                        "the manifest (default: the scenario's, des)")

    align = argparse.ArgumentParser(add_help=False)
    align.add_argument("--align-horizon", choices=["shortest"],
                       help="compare scenarios with different horizon_years over the plan "
                       "years they share (stated in the output); without it they are refused")

    output = argparse.ArgumentParser(add_help=False)
    out = output.add_argument_group("results")
    out.add_argument("--replications", "-r", metavar="R", type=positive_int,
                     help="number of replications (default: the scenario's)")
    out.add_argument("--seed", "-s", metavar="S", type=non_negative_int,
                     help="root random seed (default: the scenario's)")
    out.add_argument("--out", "-o", metavar="DIR", type=Path,
                     help="results directory (default: results/<name>)")
    out.add_argument("--resume", metavar="DIR", type=Path,
                     help="complete the interrupted run in DIR (same scenario files and "
                     "settings)")
    out.add_argument("--overwrite", action="store_true",
                     help="replace an existing results directory (refused if it holds files "
                     "vbcsim did not write, or another run is writing it)")
    out.add_argument("--full", action="store_true",
                     help="print every metric and every settlement statement (default: the "
                     "key metrics and the statements that move money)")
    _add_save_claims(out)

    run = sub.add_parser(
        "run", parents=[debug, code, changes, output, execution, align, engine],
        help="run a scenario and write its results",
        formatter_class=_HelpFormatter,
        epilog="examples:\n"
        "  vbcsim run ffs_baseline --quick      # a shipped scenario by name, small and fast\n"
        "  vbcsim run scenarios/ffs_baseline.yaml --set population.size=2000\n"
        "  vbcsim run scenarios/aco_enhanced.yaml --replications 50 --seed 7 --out results/enh\n"
        "  vbcsim run my_experiment.yaml --dask-local 4\n"
        "  vbcsim run scenarios/aco_enhanced.yaml --replications 50 --seed 7 \\\n"
        "      --resume results/enh   # complete an interrupted run",
        description="Run the Monte Carlo replications of a scenario (or of the scenarios of "
        "an experiment file), print a summary (mean and 95% interval per metric) and write "
        "the results directory. Every finished replication is saved at once, so an "
        "interrupted run can be completed with --resume.",
    )
    run.add_argument("scenario", metavar="SCENARIO", type=Path,
                     help="scenario YAML file, the name of a shipped scenario (see vbcsim "
                     "scenarios; a file of that name in the working directory wins), or an "
                     "experiment file")
    run.set_defaults(handler=_cmd_run)

    cmp = sub.add_parser(
        "compare", parents=[debug, code, changes, output, execution, align, engine],
        help="run scenarios together and compare them with a reference",
        formatter_class=_HelpFormatter,
        epilog="examples:\n"
        "  vbcsim compare scenarios/ffs_baseline.yaml scenarios/aco_basic_glide.yaml \\\n"
        "                 scenarios/capitation_global.yaml --out results/plans\n"
        "  vbcsim compare my_experiment.yaml --wtp 100000 --discount-rate 0.03\n"
        "  vbcsim report results/plans -o plans.html   # the HTML report of the comparison",
        description="Run several scenarios with common random numbers (same seed sequence "
        "and parameter draws per replication), print their summaries and the comparison with "
        "the reference (paired differences, ICER, NMB, probability best) and write the "
        "results directory.",
    )
    cmp.add_argument("scenarios", metavar="FILE", nargs="+", type=Path,
                     help="two or more scenario files or shipped scenario names, or one "
                     "experiment file (--set and --quick apply to every scenario)")
    cmp.add_argument("--reference", metavar="NAME",
                     help="scenario the others are compared with (default: the first)")
    cmp.add_argument("--no-crn", action="store_true",
                     help="independent random streams per scenario instead of common random "
                     "numbers (for comparison only)")
    cmp.add_argument("--wtp", metavar="USD", type=wtp_usd, nargs="+",
                     help="willingness-to-pay values per QALY (default 50000 100000 150000)")
    cmp.add_argument("--discount-rate", metavar="R", type=discount_rate,
                     help="yearly discount rate of costs, QALYs and margins (default: the "
                    "reference scenario's economics.discount_rate)")
    cmp.set_defaults(handler=_cmd_compare)

    sens = sub.add_parser(
        "sensitivity", parents=[debug, code, changes, execution, engine],
        help="one-way (tornado) or Sobol sensitivity of an output metric",
        formatter_class=_HelpFormatter,
        epilog="examples:\n"
        "  vbcsim sensitivity scenarios/aco_enhanced.yaml --metric margin_usd \\\n"
        "      --entity primary_care_group \\\n"
        "      --tornado lever_effects.prevention_acsc_rr=0.5:0.8 \\\n"
        "                prices.admission_mean_usd=11000:15000 \\\n"
        "                providers.primary_care_group.behavior.pass_through=0.2:0.6\n"
        "  vbcsim sensitivity my_uncertain.yaml --metric spend_total_usd --sobol 256 "
        "--out sens",
        description="One-way sensitivity (--tornado) or variance-based global sensitivity "
        "(--sobol N, Sobol indices via SALib) of one output metric.",
    )
    sens.add_argument("scenario", metavar="SCENARIO", type=Path,
                      help="scenario YAML file or shipped scenario name (distributions in it "
                      "define --sobol's ranges)")
    sens.add_argument("--metric", "-m", metavar="M", required=True,
                      help="output metric (e.g. spend_total_usd)")
    sens.add_argument("--entity", metavar="E", default="population",
                      help="entity of the metric (default: population)")
    kind = sens.add_mutually_exclusive_group(required=True)
    kind.add_argument("--tornado", metavar="PATH[=LOW:HIGH]", nargs="+",
                      help="parameters to vary one at a time: over LOW..HIGH, or over the "
                      "95%% interval of their declared distribution")
    kind.add_argument("--sobol", metavar="N", type=positive_int,
                      help="Sobol indices from N base samples (a power of 2) over the "
                      "declared distributions: N x (parameters + 2) points")
    sens.add_argument("--replications", "-r", metavar="R", type=positive_int,
                      help="replications per point (default: the scenario's for --tornado, "
                      "1 for --sobol)")
    sens.add_argument("--seed", "-s", metavar="S", type=non_negative_int,
                      help="root random seed (default: the scenario's)")
    sens.add_argument("--over-years", choices=["mean", "total"], default="mean",
                      help="average the metric over the years (default) or sum it")
    sens.add_argument("--out", "-o", metavar="DIR", type=Path,
                      help="also write the table (and a tornado figure) into DIR")
    sens.set_defaults(handler=_cmd_sensitivity)

    validate = sub.add_parser(
        "validate", parents=[debug, code, changes],
        help="check scenario files without running them",
        description="Check scenario files (with what they extend); exit 2 if any is refused. "
        "An error names the file, the line, the field and what was expected.",
        formatter_class=_HelpFormatter,
        epilog="examples:\n"
        "  vbcsim validate scenarios/ffs_baseline.yaml\n"
        "  vbcsim validate scenarios/*.yaml\n"
        "  vbcsim validate aco_enhanced --set population.size=abc   # see what is refused\n\n"
        "Every field, with its unit, default, allowed range and source: "
        "docs/scenario-reference.md.",
    )
    validate.add_argument("files", metavar="FILE", nargs="+", type=Path,
                          help="scenario or experiment YAML file(s), or shipped scenario names")
    validate.set_defaults(handler=_cmd_validate)

    scen = sub.add_parser(
        "scenarios", parents=[debug], help="list the shipped scenarios and what each answers",
        description="List the scenario files of a folder with the one-line purpose from each "
        "file's header comment (`# name — purpose`). Without --dir, the first folder with "
        "scenario files among ./scenarios, the scenarios/ folder of the vbcsim source "
        "checkout and the installed copy (<prefix>/share/vbcsim/scenarios) is listed. Any of "
        "them runs by name from any folder (vbcsim run NAME); --copy NAME DIR copies one, with "
        "the files it extends, into DIR to edit it there.",
        formatter_class=_HelpFormatter,
        epilog="examples:\n"
        "  vbcsim scenarios\n"
        "  vbcsim scenarios --dir my_study/\n"
        "  vbcsim run payer_mix_blend                  # run one of them, by name\n"
        "  vbcsim scenarios --copy aco_enhanced my_study/  # copy it (and its bases) to edit\n"
        "  vbcsim run my_study/aco_enhanced.yaml",
    )
    scen.add_argument("--dir", metavar="DIR", type=Path,
                      help="list the scenario files (*.yaml) in DIR instead (with --copy: "
                      "copy from DIR)")
    scen.add_argument("--copy", metavar=("NAME", "DIR"), nargs=2,
                      help="copy the shipped scenario NAME and the files it extends into DIR "
                      "(created if needed; existing files are never overwritten)")
    scen.set_defaults(handler=_cmd_scenarios)

    rpt = sub.add_parser(
        "report", parents=[debug, align],
        help="write an HTML report comparing results directories",
        description="Write one self-contained HTML file (images embedded, no network needed) "
        "comparing the scenarios or transition plans of one or more results directories "
        "(written by vbcsim run or vbcsim compare): a plain-language summary, a side-by-side "
        "table of spending, margin, risk of loss and outcomes, and captioned charts.",
        formatter_class=_HelpFormatter,
        epilog="examples:\n"
        "  vbcsim compare scenarios/ffs_baseline.yaml scenarios/aco_enhanced.yaml "
        "--out results/cmp\n"
        "  vbcsim report results/cmp -o report.html\n"
        "  vbcsim report results/ffs_baseline results/aco_enhanced -o two.html "
        "--title 'FFS or ENHANCED?'",
    )
    rpt.add_argument("results", metavar="RESULTS_DIR", nargs="+", type=Path,
                     help="results directory written by vbcsim run or vbcsim compare")
    rpt.add_argument("--output", "-o", metavar="FILE", type=Path, default=Path("report.html"),
                     help="the HTML file to write (default: report.html)")
    rpt.add_argument("--title", "-t", metavar="T",
                     help="title of the report (default: from the scenario names)")
    rpt.add_argument("--overwrite", action="store_true",
                     help="replace FILE if it exists")
    rpt.set_defaults(handler=_cmd_report)
    _add_calibrate(sub, debug, code)
    _add_voi(sub, debug)
    _add_claims(sub, debug)
    _add_init(sub, debug)
    _add_plan(sub, debug)
    return parser


def _add_claims(sub: Any, debug: argparse.ArgumentParser) -> None:
    """``vbcsim claims RESULTS_DIR --format cclf --out DIR`` (docs/claims.md)."""
    cl = sub.add_parser(
        "claims", parents=[debug],
        help="export the simulated claims kept by --save-claims (CCLF-like files)",
        formatter_class=_HelpFormatter,
        epilog="examples:\n"
        "  vbcsim run ffs_baseline --quick --save-claims --out results/ffs\n"
        "  vbcsim claims results/ffs --format cclf --out cclf/ffs\n"
        "  vbcsim claims results/plans --scenario aco_basic_glide --replications 0,1 "
        "--parquet --out cclf/aco",
        description="Write the claims that a run kept (vbcsim run/compare --save-claims) in "
        "a layout modelled on CMS's Claim and Claim Line Feed files: CCLF1 (Part A header), "
        "CCLF2 (revenue centre), CCLF3 (procedures), CCLF4 (Part A diagnosis), CCLF5 (Part B "
        "physician), CCLF6 (Part B DME) and CCLF8 (beneficiary demographics), coded with "
        "HCPCS/CPT, place of service, revenue centres, ICD-10-CM and MS-DRG, one folder per "
        "scenario and replication, with synthetic identifiers. Field by field, and how they "
        "differ from the real files: "
        "docs/claims.md.")
    cl.add_argument("results", metavar="RESULTS_DIR", type=Path,
                    help="a results directory written with --save-claims")
    cl.add_argument("--format", dest="fmt", choices=["cclf"], default="cclf",
                    help="layout of the files (default: cclf)")
    cl.add_argument("--out", "-o", metavar="DIR", type=Path, required=True,
                    help="folder to write (must not exist, or be empty)")
    cl.add_argument("--replications", metavar="N,M", type=_replication_list, default=None,
                    help="which kept replications (default: every kept one)")
    cl.add_argument("--scenario", metavar="NAME",
                    help="which scenario (default: every scenario with kept claims)")
    cl.add_argument("--parquet", action="store_true",
                    help="write Parquet files instead of CSV")
    cl.set_defaults(handler=_cmd_claims)


def _replication_list(text: str) -> list[int]:
    try:
        reps = [int(p) for p in text.split(",") if p.strip()]
    except ValueError:
        reps = []
    if not reps or min(reps) < 0:
        raise argparse.ArgumentTypeError(f"expected replication numbers separated by commas "
                                         f"(e.g. 0,1), got {text!r}")
    return reps


def _cmd_claims(args: argparse.Namespace, argv: Sequence[str], out: TextIO) -> int:
    """Export the kept claims of a results directory."""
    from sim.claims_export import ClaimsExportError, export_claims

    try:
        files = export_claims(args.results, args.out, fmt=args.fmt,
                              replications=args.replications, scenario=args.scenario,
                              parquet=args.parquet)
    except ClaimsExportError as exc:
        raise UsageError(str(exc)) from None
    folders = sorted({f.parent for f in files})
    print(f"Wrote {len(files)} file(s) in {len(folders)} folder(s) under {args.out}/ "
          "(docs/claims.md describes every field)", file=out)
    return EXIT_OK


def _add_save_claims(group: Any) -> None:
    """``--save-claims [all|N,M]`` on run/compare (docs/claims.md)."""
    group.add_argument("--save-claims", metavar="all|N,M", nargs="?", const="",
                       default=None, type=_save_claims_value,
                       help="keep the simulated claims of replication 0 (or of the "
                       "replications N,M, or all) in the results directory, "
                       "claims/<scenario>/rep_<k>/, for `vbcsim claims` (off by default; "
                       "docs/claims.md)")


def _save_claims_value(text: str) -> str:
    from sim.claims_saving import parse_save_claims

    try:
        parse_save_claims(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("save_claims: ")) from None
    return text


def _add_calibrate(sub: Any, debug: argparse.ArgumentParser,
                   code: argparse.ArgumentParser) -> None:
    """``vbcsim calibrate CALIBRATION.yaml`` (docs/calibration.md)."""
    cal = sub.add_parser(
        "calibrate", parents=[debug, code],
        help="fit scenario parameters to target moments (common random numbers)",
        formatter_class=_HelpFormatter,
        epilog="examples:\n"
        "  vbcsim calibrate scenarios/calibration/behaviour_first_year.yaml --out cal/first\n"
        "  vbcsim calibrate my_calibration.yaml --out cal/mine --resume",
        description="Fit the parameters named in a calibration file to its targets (published "
        "effects with their intervals, or figures from your own data): Brent's method for one "
        "parameter, Nelder-Mead within the bounds for several, every evaluation run under "
        "common random numbers and cached in the output folder. Writes fitted.yaml, "
        "fit_table.csv/.md, trace.csv, calibration.png and the scenarios with the fitted "
        "values (docs/calibration.md).")
    cal.add_argument("calibration", metavar="CALIBRATION.yaml", type=Path,
                     help="the calibration file")
    cal.add_argument("--out", metavar="DIR", type=Path, default=None,
                     help="output folder (default: calibration-NAME in the working "
                     "directory)")
    cal.add_argument("--resume", action="store_true",
                     help="continue the calibration in --out, reusing its cached evaluations")
    cal.add_argument("--overwrite", action="store_true",
                     help="start again in --out (vbcsim's files there are replaced)")
    cal.add_argument("--workers", metavar="W", type=_whole_number(1, "workers"), default=1,
                     help="local processes for the replications of one evaluation "
                     "(default: 1)")
    cal.add_argument("--max-evaluations", metavar="N", type=_whole_number(1, "evaluations"),
                     default=None, help="override the file's method.max_evaluations")
    cal.add_argument("--quiet", action="store_true", help="print only the fit table")
    cal.add_argument("--engine", choices=["des", "fast", "auto"], default=None,
                     help="executor of the care model for every evaluation (the scenario "
                     "field engine; default: the scenarios')")
    cal.set_defaults(handler=_cmd_calibrate)


def _add_init(sub: Any, debug: argparse.ArgumentParser) -> None:
    """``vbcsim init --from-puf FILE --aco ID -o my_aco.yaml`` (docs/puf.md)."""
    init = sub.add_parser(
        "init", parents=[debug],
        help="write a scenario for one ACO from CMS's MSSP ACO public use file",
        formatter_class=_HelpFormatter,
        epilog="examples:\n"
        "  vbcsim init --from-puf mssp_aco_puf_py2024.csv --aco A1001 -o my_aco.yaml\n"
        "  vbcsim init --from-puf mssp_aco_puf_py2023.csv --aco A1247 --year 2023",
        description="Build a scenario from an ACO's row of CMS's MSSP ACO PUF (PY2023 or "
        "PY2024): population size and mix, track and agreement, benchmark standing, and "
        "care-model rates and prices fitted so a simulated FFS year reproduces the ACO's "
        "per-capita spending by category and utilisation per 1,000. Writes the commented "
        "YAML and its fit table (<stem>.fit.csv) and prints the table (docs/puf.md).")
    init.add_argument("--from-puf", dest="puf", metavar="FILE", type=Path, required=True,
                      help="the MSSP ACO PUF CSV (e.g. mssp_aco_puf_py2024.csv)")
    init.add_argument("--aco", metavar="ACO_ID", required=True, help="the ACO_ID, e.g. A1001")
    init.add_argument("--year", type=int, choices=(2023, 2024), default=None,
                      help="performance year of the file (default: detected from its columns)")
    init.add_argument("-o", "--out", metavar="FILE", type=Path, default=None,
                      help="the scenario to write (default: <aco>_py<year+1>.yaml)")
    init.add_argument("--calibration-size", metavar="N", type=_whole_number(100, "patients"),
                      default=None, help="patients in the calibration runs (default: 10000)")
    init.add_argument("--overwrite", action="store_true", help="replace FILE if it exists")
    init.set_defaults(handler=_cmd_init)


def _cmd_init(args: argparse.Namespace, argv: Sequence[str], out: TextIO) -> int:
    """Write a PUF-calibrated scenario and print its fit table."""
    from sim.puf import PufError, scenario_from_puf
    from sim.puf.build import CALIBRATION_SIZE

    size = args.calibration_size or CALIBRATION_SIZE
    try:
        if args.out is not None and args.out.exists() and not args.overwrite:
            raise UsageError(f"{args.out} exists (--overwrite replaces it)")
        built = scenario_from_puf(args.puf, args.aco, args.year, calibration_size=size)
    except PufError as exc:
        raise UsageError(str(exc)) from exc
    path = args.out or Path(f"{built.data['name']}.yaml")
    if path.exists() and not args.overwrite:
        raise UsageError(f"{path} exists (--overwrite replaces it)")
    yaml_path, table_path = built.write(path)
    print(built.fit_table(), file=out)
    print(f"wrote {yaml_path} and {table_path} ({built.seconds:.0f} s)", file=out)
    return EXIT_OK


def _add_plan(sub: Any, debug: argparse.ArgumentParser) -> None:
    """``vbcsim plan my_aco.yaml`` (sim/plan.py, docs/puf.md)."""
    plan = sub.add_parser(
        "plan", parents=[debug], help="rank the payment options open to an MSSP ACO",
        formatter_class=_HelpFormatter,
        epilog="examples:\n  vbcsim plan my_aco.yaml\n"
        "  vbcsim plan my_aco.yaml --size 5000 --replications 20 --tornado 6 --out plan-a1247",
        description="Run the ACO of a scenario (e.g. from `vbcsim init --from-puf`) through "
        "the options open to it (stay, move up the BASIC glide path, ENHANCED, ACO REACH, a "
        "payer's capitation offer), each with the investment it needs, and rank them by "
        "expected margin, NPV, probability of owing and worst cash position, with a tornado "
        "of the assumptions that drive the choice (docs/puf.md, 'Planning').")
    plan.add_argument("scenario", metavar="SCENARIO", help="the ACO's scenario file")
    plan.add_argument("--replications", "-r", metavar="R", type=_whole_number(1, "replications"),
                      default=8, help="replications per option (default: 8)")
    plan.add_argument("--size", metavar="N", type=_whole_number(50, "patients"), default=5000,
                      help="simulated panel (default 5000; money is scaled to the real size)")
    plan.add_argument("--years", metavar="Y", type=_whole_number(1, "years"), default=None,
                      help="horizon (default: the scenario's)")
    plan.add_argument("--seed", type=int, default=None, help="seed (default: the scenario's)")
    plan.add_argument("--tornado", metavar="K", type=_whole_number(0, "parameters"), default=4,
                      help="assumptions in the tornado of the choice (0: none; default 4)")
    plan.add_argument("--workers", "-w", metavar="W", type=_whole_number(1, "workers"),
                      default=None, help="local processes (default: one per CPU)")
    plan.add_argument("--out", metavar="DIR", type=Path, default=None,
                      help="folder for plan.md, ranking.csv, tornado.csv")
    plan.set_defaults(handler=_cmd_plan)


def _cmd_plan(args: argparse.Namespace, argv: Sequence[str], out: TextIO) -> int:
    """Rank the options of an MSSP ACO and print the report."""
    from sim.executors import make_executor
    from sim.plan import PlanError, run_plan, write_plan

    path = Path(args.scenario)
    if not path.is_file():
        raise UsageError(f"{path}: no such scenario file")
    try:
        result = run_plan(path, replications=args.replications, size=args.size,
                          horizon=args.years, seed=args.seed, tornado=args.tornado,
                          executor=make_executor(workers=args.workers), progress=False)
    except PlanError as exc:
        raise UsageError(f"{path}: {exc}") from exc
    print(result.format(), file=out)
    if args.out is not None:
        written = write_plan(result, args.out)
        print("wrote " + ", ".join(str(w) for w in written), file=out)
    return EXIT_OK


def _cmd_calibrate(args: argparse.Namespace, argv: Sequence[str], out: TextIO) -> int:
    """Run a calibration file and print its fit table."""
    from sim.calibration import CalibrationError, calibrate, load_calibration
    from sim.calibration.outputs import fit_table_markdown
    from sim.results import OutputLock

    path = _find(args.calibration, "CALIBRATION.yaml")
    spec = load_calibration(path, allow_code=args.allow_code)
    if args.engine:  # every scenario of the calibration on that executor
        import dataclasses

        spec = dataclasses.replace(spec, scenarios=tuple(
            s.model_copy(update={"engine": args.engine}) for s in spec.scenarios))
    folder = args.out or Path(f"calibration-{spec.name}")

    def show(n: int, ev: Any, hit: bool) -> None:
        if not args.quiet:
            values = ", ".join(f"{k}={v:.6g}" for k, v in ev.values.items())
            print(f"  {n:3d}  objective {ev.objective:10.4g}  {values}"
                  f"{'  (cached)' if hit else ''}", file=out, flush=True)

    if not args.quiet:
        print(f"calibrating {spec.name}: {len(spec.parameters)} parameter(s), "
              f"{len(spec.targets)} target(s), {spec.replications} replication(s) per "
              f"scenario per evaluation; writing {folder}", file=out)
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        with OutputLock(folder, shlex.join([PROG, *argv])):
            result = calibrate(spec, out=folder, resume=args.resume, overwrite=args.overwrite,
                               workers=args.workers, max_evaluations=args.max_evaluations,
                               progress=show)
    except CalibrationError as exc:
        raise UsageError(str(exc)) from None
    print(f"\n{result.method}: {result.message} ({result.evaluations} evaluations, "
          f"{result.cached} from the cache); objective {result.objective:.4g}", file=out)
    for text in result.overrides():
        print(f"  --set {text}", file=out)
    print("", file=out)
    print(fit_table_markdown(result.table), file=out, end="")
    print(f"\nwritten to {folder}", file=out)
    return EXIT_OK


# --------------------------------------------------------------------------- commands


def _find(path: Path, what: str) -> Path:
    """The scenario file ``path`` names: the file itself, else a shipped scenario of that
    name (:func:`sim.scenario.library.find_scenario`); a usage error naming the argument and
    where it looked if there is none."""
    from sim.scenario import library

    found = library.find_scenario(str(path))
    if found.path is None:
        raise UsageError(f"argument {what}: {library.not_found_message(str(path), found)}")
    if not found.path.is_file():
        raise UsageError(f"argument {what}: not a file: {str(path)!r}")
    if found.note:
        print(f"{PROG}: note: {found.note}", file=sys.stderr)
    return found.path


def _overrides(args: argparse.Namespace) -> list:
    """The run's overrides (``--quick`` first, then every ``--set``), each checked for its
    form before any file is read."""
    from sim.run_setup import run_overrides

    texts = list(args.overrides)
    if getattr(args, "no_parameter_uncertainty", False):
        texts.append("parameter_uncertainty=false")
    if getattr(args, "engine", None):
        texts.append(f"engine={args.engine}")
    return run_overrides(texts, args.quick)


def _load(path: Path, what: str, allow_code: bool = False, overrides: Sequence = ()):
    """Load a scenario file (or shipped scenario) with ``overrides``; a missing file is a
    usage error naming the argument."""
    from sim.scenario import load_scenario

    return load_scenario(_find(path, what), allow_code=allow_code, overrides=overrides)


def _changes(overrides: Sequence, quick: bool) -> dict[str, Any]:
    """What the run records about its overrides (manifest, title)."""
    from sim.scenario.overrides import override_texts

    return {"overrides": override_texts(overrides), "quick": quick}


def _cmd_validate(args: argparse.Namespace, argv: Sequence[str], out: TextIO) -> int:
    from sim.experiment import is_experiment_file, load_experiment
    from sim.scenario import ScenarioError
    from sim.scenario.uncertain import uncertainty_of

    status = EXIT_OK
    overrides = _overrides(args)
    changed = f", with {len(overrides)} override(s)" if overrides else ""
    for given in args.files:
        path = given
        try:
            path = _find(given, "FILE")
            if is_experiment_file(path):
                exp = load_experiment(path, allow_code=args.allow_code, overrides=overrides)
                print(f"{path}: ok (experiment {exp.name!r}: scenarios "
                      f"{', '.join(s.name for s in exp.scenarios)}; reference {exp.reference}"
                      f"{changed})", file=out)
                continue
            scenario = _load(path, "FILE", args.allow_code, overrides)
        except (ScenarioError, UsageError, OSError) as exc:
            _report(exc, args.debug)
            status = EXIT_BAD_INPUT
            continue
        n_uncertain = len(uncertainty_of(scenario).parameters)
        uncertain = f", {n_uncertain} uncertain parameter(s)" if n_uncertain else ""
        print(
            f"{path}: ok (scenario {scenario.name!r}: {scenario.population.size:,} patients, "
            f"{scenario.horizon_years} year(s), {scenario.replications} replication(s)"
            f"{uncertain}{changed})",
            file=out,
        )
    return status


def _execution(args: argparse.Namespace) -> dict:
    chosen = [name for name, value in (("--workers", args.workers),
                                       ("--scheduler", args.scheduler),
                                       ("--dask-local", args.dask_local)) if value is not None]
    if len(chosen) > 1:
        raise UsageError(f"argument {chosen[1]}: not allowed with {chosen[0]}")
    if args.scheduler is not None or args.dask_local is not None:
        from sim.executors import DaskUnavailable, make_executor

        try:
            executor = make_executor(scheduler=args.scheduler, dask_local=args.dask_local)
        except DaskUnavailable as exc:
            raise UsageError(f"argument {chosen[0]}: {exc}") from None
        return {"executor": executor}
    return {"workers": args.workers}


def _settings(args: argparse.Namespace, scenarios: list, name: str) -> tuple[list, Path, bool]:
    """Check overrides and the results directory before anything runs."""
    from sim.results import OutputLocked, ResultsDirError, check_results_dir
    from sim.run_setup import OverrideError, prepare

    if args.resume is not None and (args.out is not None or args.overwrite):
        raise UsageError("argument --resume: not allowed with --out or --overwrite (the "
                         "results go where the interrupted run was to write them)")
    try:
        prepared = prepare(scenarios, args.replications, args.seed)
    except OverrideError as exc:
        raise UsageError(f"argument --{exc.name}: {exc.message}") from None
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.resume is not None:
        return prepared, args.resume, True
    out_dir = args.out if args.out is not None else Path("results") / name
    try:
        check_results_dir(out_dir, overwrite=args.overwrite)
    except ResultsDirError as exc:
        hint = "" if args.overwrite or isinstance(exc, OutputLocked) else (
            " (or --resume it if it was interrupted)")
        raise UsageError(f"argument --out: {exc}{hint}") from None
    return prepared, out_dir, False


def _go(args: argparse.Namespace, argv: Sequence[str], out: TextIO, scenarios: list,
        label: str, **extra) -> int:
    from sim.checkpoint import ResumeError
    from sim.comparison import NotComparable
    from sim.resources import NotEnoughMemory
    from sim.results import OutputLocked
    from sim.runner import check_scenarios_comparable, run_scenarios

    execution = _execution(args)
    try:
        check_scenarios_comparable(scenarios, extra.get("align_horizon"),
                                   extra.get("crn", True))
    except NotComparable as exc:
        raise UsageError(str(exc)) from None
    prepared, out_dir, resume = _settings(args, scenarios, label)
    first = prepared[0]
    if not args.quiet:
        what = first.name if len(prepared) == 1 else ", ".join(s.name for s in prepared)
        verb = "Resuming" if resume else "Running"
        print(f"{verb} {what}: {first.replications} replication(s), seed {first.seed} ...",
              file=sys.stderr)
    t0 = time.perf_counter()
    try:
        result = run_scenarios(
            scenarios, replications=args.replications, seed=args.seed,
            progress=False if args.quiet else None, out=out_dir, resume=resume,
            overwrite=args.overwrite, command=shlex.join([PROG, *argv]), **execution, **extra,
            task_timeout=args.task_timeout, force=args.force,
            save_claims=getattr(args, "save_claims", None))
    except ResumeError as exc:
        raise UsageError(f"argument --resume: {exc}") from None
    except NotEnoughMemory as exc:
        raise UsageError(str(exc)) from None
    except OutputLocked as exc:
        raise UsageError(f"argument {'--resume' if resume else '--out'}: {exc}") from None
    elapsed = time.perf_counter() - t0

    _print_results(result, out, full=getattr(args, "full", False), several=len(prepared) > 1)
    if not args.quiet:
        print(f"\nResults written to {out_dir}/ ({elapsed:.1f} s, {result.workers} "
              f"worker(s), {result.backend})", file=sys.stderr)
    return EXIT_OK


def _print_results(result: Any, out: TextIO, *, full: bool, several: bool) -> None:
    """The console view of a run: its summary (key metrics, or every metric with
    ``full``), the risk of each provider's margin, the settlement statements and, for
    several scenarios, the comparison (rows that say nothing left out, see
    :mod:`sim.results.console`)."""
    print(result.format_summary(full=full), file=out)
    risk = _format_risk(result)
    if risk:
        print("\n" + risk, file=out)
    statements = result.tables.get("settlements")
    # itemised statements of the settlement engine (a replaced replication function may
    # keep another table under this name: it is written, not printed)
    if statements is not None and len(statements) and {"kind", "contract"} <= set(
            statements.columns):
        from sim.settlement.report import format_statements

        by_scenario = ([(n, statements[statements["scenario"] == n])
                        for n in statements["scenario"].unique()]
                       if "scenario" in statements.columns
                       else [(result.scenario.name, statements)])
        for name, rows in by_scenario:
            text = format_statements(rows, full=full)
            if text:
                print(f"\n[{name}] {text}" if several else f"\n{text}", file=out)
    if several:
        import dataclasses

        from sim.results.console import drop_hidden

        comparison = result.compare()
        if not full:
            comparison = dataclasses.replace(
                comparison, incremental=drop_hidden(comparison.incremental, result.results))
        print("\n" + comparison.format(), file=out)


def _format_risk(result: Any) -> str:
    """Each provider's plan-total margin risk, one line each (money as in the summary)."""
    from sim.results import format_number

    risk = result.risk()
    needed = {"margin_mean", "p_negative_margin", "margin_cvar95"}
    if risk.empty or not needed <= set(risk.columns):
        return ""
    lines = ["Risk over the plan (margin summed over the plan years, across replications):"]
    several = risk["scenario"].nunique() > 1
    cells = [("scenario" if several else "", "entity", "mean margin", "P(loss)",
              "CVaR95 (mean of worst 5%)")]
    for r in risk.to_dict("records"):
        cells.append((str(r["scenario"]) if several else "", str(r["entity"]),
                      format_number(r["margin_mean"], money=True),
                      f"{r['p_negative_margin']:.2f}",
                      format_number(r["margin_cvar95"], money=True)))
    widths = [max(len(c[i]) for c in cells) for i in range(5)]
    for c in cells:
        parts = ([c[0].ljust(widths[0])] if several else []) + [
            c[1].ljust(widths[1]), *(c[i].rjust(widths[i]) for i in (2, 3, 4))]
        lines.append(("  " + "   ".join(parts)).rstrip())
    return "\n".join(lines)


def _cmd_run(args: argparse.Namespace, argv: Sequence[str], out: TextIO) -> int:
    from sim.experiment import is_experiment_file

    overrides = _overrides(args)
    path = _find(args.scenario, "SCENARIO")
    if is_experiment_file(path):
        return _run_experiment(args, argv, out, path, overrides)
    scenario = _load(path, "SCENARIO", args.allow_code, overrides)
    return _go(args, argv, out, [scenario], scenario.name, sources=[str(path)],
               **_changes(overrides, args.quick))


def _run_experiment(args: argparse.Namespace, argv: Sequence[str], out: TextIO, path: Path,
                    changes: Sequence, **overrides) -> int:
    from sim.experiment import load_experiment

    exp = load_experiment(path, allow_code=args.allow_code, overrides=changes)
    # the experiment's own replications and seed, unless the command line sets them
    # (--replications/--seed, or --set/--quick on the scenarios' own fields)
    given = {o.path for o in changes}
    args = argparse.Namespace(**{**vars(args), **{
        key: getattr(exp, key) for key in ("replications", "seed")
        if getattr(args, key) is None and key not in given}})
    return _go(args, argv, out, list(exp.scenarios), exp.name,
               sources=list(exp.sources), crn=overrides.get("crn", exp.crn),
               reference=overrides.get("reference") or exp.reference, name=exp.name,
               source=exp.source,
               wtp=overrides.get("wtp") or exp.wtp,
               discount_rate=(exp.discount_rate if overrides.get("discount_rate") is None
                              else overrides["discount_rate"]),
               align_horizon=args.align_horizon, **_changes(changes, args.quick))


def _cmd_compare(args: argparse.Namespace, argv: Sequence[str], out: TextIO) -> int:
    from sim.comparison import DEFAULT_WTP
    from sim.experiment import is_experiment_file

    overrides = {"reference": args.reference, "wtp": args.wtp,
                 "discount_rate": args.discount_rate}
    changes = _overrides(args)
    if len(args.scenarios) == 1:
        path = _find(args.scenarios[0], "FILE")
        if is_experiment_file(path):
            if args.no_crn:
                overrides["crn"] = False
            return _run_experiment(args, argv, out, path, changes, **overrides)
        raise UsageError("argument FILE: give two or more scenario files, or one experiment "
                         "file (with a top-level 'experiment:')")
    paths = [_find(p, "FILE") for p in args.scenarios]
    scenarios = [_load(p, "FILE", args.allow_code, changes) for p in paths]
    names = [s.name for s in scenarios]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise UsageError(f"argument FILE: scenario names must differ; repeated: "
                         f"{', '.join(dup)} (set 'name:' in the files)")
    if args.reference is not None and args.reference not in names:
        raise UsageError(f"argument --reference: expected one of {', '.join(names)}, got "
                         f"{args.reference!r}")
    return _go(args, argv, out, scenarios, "_vs_".join(names),
               sources=[str(p) for p in paths], crn=not args.no_crn,
               reference=args.reference or names[0],
               wtp=args.wtp or DEFAULT_WTP, discount_rate=args.discount_rate,
               align_horizon=args.align_horizon, **_changes(changes, args.quick))


def _cmd_sensitivity(args: argparse.Namespace, argv: Sequence[str], out: TextIO) -> int:
    from sim.results import OutputLock, check_results_dir

    scenario = _load(args.scenario, "SCENARIO", args.allow_code, _overrides(args))
    execution = _execution(args)
    if args.out is None:
        return _sensitivity(args, out, scenario, execution)
    try:
        check_results_dir(args.out)
    except OSError as exc:
        raise UsageError(f"argument --out: {exc}") from None
    with OutputLock(args.out, shlex.join([PROG, *argv])):  # one writer per output folder
        return _sensitivity(args, out, scenario, execution)


def _sensitivity(args: argparse.Namespace, out: TextIO, scenario: Any, execution: dict) -> int:
    from sim.resources import NotEnoughMemory
    from sim.sensitivity import SensitivityError, sobol, tornado

    if "executor" not in execution:  # local processes: --workers, else one per CPU
        from sim.executors import available_cpus

        execution = {"workers": args.workers if args.workers is not None else available_cpus()}
    progress = False if args.quiet else None
    execution.update(task_timeout=args.task_timeout, force=args.force)
    try:
        if args.tornado:
            table = tornado(scenario, args.tornado, args.metric, entity=args.entity,
                            replications=args.replications, seed=args.seed,
                            over_years=args.over_years, progress=progress, **execution)
            title = f"One-way sensitivity of {args.metric} ({args.entity})"
        else:
            table = sobol(scenario, args.sobol, args.metric, entity=args.entity,
                          replications=args.replications or 1, seed=args.seed,
                          over_years=args.over_years, progress=progress, **execution)
            title = f"Sobol indices of {args.metric} ({args.entity}), n = {args.sobol}"
    except (SensitivityError, NotEnoughMemory) as exc:
        raise UsageError(str(exc)) from None
    if args.quick:
        title = "QUICK LOOK (--quick: a small run for a first look, not a result): " + title
    print(title, file=out)
    from sim.results.summary import format_table

    print(format_table(table), file=out)
    if args.out is not None:
        from sim.results import layout

        args.out.mkdir(parents=True)
        kind = "tornado" if args.tornado else "sobol"
        table.to_csv(args.out / dict(layout.SENSITIVITY_FILES)[kind], index=False)
        import json

        from sim._version import __version__

        (args.out / layout.SENSITIVITY_JSON).write_text(json.dumps(
            {"scenario": scenario.name, "kind": kind, "metric": args.metric,
             "entity": args.entity, "quick": bool(args.quick), "vbcsim_version": __version__},
            indent=2) + "\n", encoding="utf-8")
        if args.tornado:
            from sim.plots import tornado as tornado_chart  # readable labels, legend outside

            tornado_chart(table).savefig(args.out / layout.TORNADO_FIGURE, dpi=120)
        if not args.quiet:
            print(f"\nWritten to {args.out}/", file=sys.stderr)
    return EXIT_OK


# --------------------------------------------------------------------------- scenarios

def _same(a: Path, b: Path) -> bool:
    from sim.scenario.library import same_file

    return same_file(a, b)


def _shown(path: Path) -> str:
    """``path`` relative to the working directory when it is inside it."""
    for p, cwd in ((path.absolute(), Path.cwd()), (path.resolve(), Path.cwd().resolve())):
        try:
            return str(p.relative_to(cwd))
        except ValueError:
            continue
    return str(path)


def _cmd_scenarios(args: argparse.Namespace, argv: Sequence[str], out: TextIO) -> int:
    from sim.scenario import library

    if args.copy is not None:
        return _copy_scenario(args, out)
    if args.dir is not None:
        if not args.dir.is_dir():
            raise UsageError(f"argument --dir: no such directory: {str(args.dir)!r}")
        folder = args.dir
        files = library.scenario_files(folder)
        if not files:
            raise UsageError(f"argument --dir: no scenario files (*.yaml) in {str(folder)!r}")
    else:
        looked = library.scenario_dirs()
        folder = library.library_dir(looked)
        if folder is None:
            raise UsageError("no scenario files found; looked in " + ", ".join(
                str(d) for d in looked) + " (use --dir DIR)")
        files = library.scenario_files(folder)
    shown = _shown(folder)
    width = max(len(f.stem) for f in files)
    how = ("vbcsim run NAME; copy one to edit it: vbcsim scenarios --copy NAME DIR"
           if args.dir is None else f"vbcsim run {shown}/NAME.yaml")
    print(f"Scenarios in {shown}/ (run one with: {how})\n", file=out)
    for f in files:
        print(f"  {f.stem:<{width}}  {library.scenario_purpose(f) or '(no header comment)'}",
              file=out)
    return EXIT_OK


def _copy_scenario(args: argparse.Namespace, out: TextIO) -> int:
    """``vbcsim scenarios --copy NAME DIR``: the scenario and the bases it extends, copied
    into DIR (nothing is overwritten)."""
    from sim.scenario import library

    name, folder = args.copy[0], Path(args.copy[1])
    if args.dir is not None and not args.dir.is_dir():
        raise UsageError(f"argument --dir: no such directory: {str(args.dir)!r}")
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"argument --copy: {str(folder)!r} is not a directory")
    try:
        written = library.copy_scenario(name, folder, args.dir)
    except library.CopyError as exc:
        raise UsageError(f"argument --copy: {exc}") from None
    except OSError as exc:
        raise UsageError(f"argument --copy: cannot write into {str(folder)!r}: "
                         f"{exc.strerror}") from None
    bases = f" with {', '.join(str(p) for p in written[1:])}" if len(written) > 1 else ""
    print(f"Copied {name} to {written[0]}{bases}.\nEdit it, then run it with: "
          f"vbcsim run {shlex.quote(str(written[0]))}", file=out)
    return EXIT_OK


# --------------------------------------------------------------------------- report


def _check_results_input(path: Path) -> None:
    """Refuse what is not a finished vbcsim results directory, or a folder of sensitivity
    outputs (``vbcsim sensitivity --out DIR``), as a usage error."""
    from sim.results import ResultsDirError, check_finished, layout

    if path.is_dir() and layout.results_file(path) is None and layout.sensitivity_files(path):
        return  # sensitivity outputs only: the report reads their tables
    try:
        check_finished(path)
    except ResultsDirError as exc:
        raise UsageError(f"argument RESULTS_DIR: {str(path)!r}: {exc}") from None


def _cmd_report(args: argparse.Namespace, argv: Sequence[str], out: TextIO) -> int:
    seen: list[Path] = []
    for path in args.results:
        _check_results_input(path)
        if any(_same(path, s) for s in seen):
            raise UsageError(f"argument RESULTS_DIR: {str(path)!r} is given twice")
        seen.append(path)
    output: Path = args.output
    if output.is_dir():
        raise UsageError(f"argument --output: {str(output)!r} is a directory; give a file "
                         "name such as report.html")
    if output.exists() and not args.overwrite:
        raise UsageError(f"argument --output: {str(output)!r} already exists; pass "
                         "--overwrite to replace it")
    parent = output.absolute().parent
    if not parent.is_dir():
        raise UsageError(f"argument --output: no such directory: {str(parent)!r}")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"argument --output: {str(parent)!r} is not writable")
    try:
        from sim.report import write_report
    except ImportError as exc:
        if exc.name != "sim.report":  # e.g. a library the report needs: say which
            raise
        raise RuntimeError("the HTML report is not available in this installation of "
                           "vbcsim (no sim.report module)") from exc

    # Written next to the target and moved into place at the end, so that a failure never
    # leaves a half-written report or destroys the previous one.
    tmp = parent / f".{output.name}.{os.getpid()}.tmp{output.suffix or '.html'}"
    from sim.comparison import NotComparable

    try:
        align = {"align_horizon": args.align_horizon} if args.align_horizon else {}
        written = Path(write_report(list(args.results), tmp, title=args.title, **align))
        os.replace(written, output)
    except NotComparable as exc:
        raise UsageError(f"argument RESULTS_DIR: {exc}") from None
    finally:
        tmp.unlink(missing_ok=True)
    print(f"Report written to {output}", file=out)
    return EXIT_OK


# --------------------------------------------------------------------------- voi


def _add_voi(sub: Any, debug: argparse.ArgumentParser) -> None:
    """``vbcsim voi RESULTS_DIR`` (docs/voi.md)."""
    voi = sub.add_parser(
        "voi", parents=[debug],
        help="value of information (EVPI, EVPPI) of a comparison with uncertain parameters",
        formatter_class=_HelpFormatter,
        epilog="examples:\n"
        "  vbcsim voi results/cmp\n"
        "  vbcsim voi results/cmp --wtp 50000 100000 --group prices=prices.a_usd,prices.b_usd "
        "--population 20000",
        description="Expected value of perfect information (EVPI) and of partial perfect "
        "information per parameter and group (EVPPI, regression method of Strong, Oakley & "
        "Brennan 2014) from a results directory of vbcsim compare run with parameter "
        "uncertainty (its draws.parquet): for the payer's decision (highest net monetary "
        "benefit, per willingness-to-pay) and each provider's (highest margin). Writes "
        "voi.csv and voi.png to --out (default: RESULTS_DIR/voi) and prints a summary "
        "(docs/voi.md).")
    voi.add_argument("results", metavar="RESULTS_DIR", type=Path,
                     help="results directory of vbcsim compare with parameter draws")
    voi.add_argument("--wtp", metavar="USD", type=wtp_usd, nargs="+",
                     help="willingness-to-pay values per QALY (default 50000 100000 150000)")
    voi.add_argument("--discount-rate", metavar="R", type=discount_rate,
                     help="yearly discount rate of costs, QALYs and margins (default: the "
                     "saved scenario's economics.discount_rate)")
    voi.add_argument("--perspective", choices=["health_sector", "payer"], default=None,
                     help="cost of the payer's net monetary benefit (default: the saved "
                     "scenario's economics.perspective)")
    voi.add_argument("--group", metavar="NAME=PATH,PATH", action="append", default=[],
                     help="a group of parameters valued together (repeatable)")
    voi.add_argument("--population", metavar="N", type=positive_int,
                     help="people the decision concerns: adds population_usd = per person "
                     "x N")
    voi.add_argument("--out", metavar="DIR", type=Path, default=None,
                     help="folder for voi.csv and voi.png (default: RESULTS_DIR/voi)")
    voi.set_defaults(handler=_cmd_voi)


def _cmd_voi(args: argparse.Namespace, argv: Sequence[str], out: TextIO) -> int:
    from sim.voi import VOIError, format_voi, voi_from_dir

    _check_results_input(args.results)
    groups: dict[str, list[str]] = {}
    for text in args.group:
        name, sep, members = text.partition("=")
        if not sep or not name.strip() or not members.strip():
            raise UsageError(f"argument --group: expected NAME=PATH,PATH, got {text!r}")
        groups[name.strip()] = [m.strip() for m in members.split(",") if m.strip()]
    kwargs: dict[str, Any] = {"groups": groups, "population": args.population}
    for key, value in (("wtp", args.wtp), ("discount_rate", args.discount_rate),
                       ("perspective", args.perspective)):
        if value is not None:
            kwargs[key] = value
    try:
        table = voi_from_dir(args.results, **kwargs)
    except VOIError as exc:
        raise UsageError(f"argument RESULTS_DIR: {str(args.results)!r}: {exc}") from None
    folder = args.out if args.out is not None else args.results / "voi"
    folder.mkdir(parents=True, exist_ok=True)
    table.to_csv(folder / "voi.csv", index=False)
    import matplotlib

    matplotlib.use("Agg")
    from sim.plots import voi_curve

    voi_curve(table).savefig(folder / "voi.png", dpi=150)
    print(format_voi(table), file=out)
    print(f"\nWritten {folder / 'voi.csv'} and {folder / 'voi.png'}", file=out)
    return EXIT_OK


# --------------------------------------------------------------------------- entry point


def _report(exc: BaseException, debug: bool) -> None:
    if debug:
        traceback.print_exception(exc, file=sys.stderr)
    message = str(exc) or type(exc).__name__
    print(f"{PROG}: error: {message}", file=sys.stderr)


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """While a command runs, SIGTERM (``kill``, a batch scheduler's time limit) stops it as
    Ctrl-C does: finished parts stay saved and the resume message is printed. The previous
    handler is restored afterwards; off the main thread nothing is changed."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pid = os.getpid()

    def handler(signum: int, frame: object) -> None:
        if os.getpid() != pid:  # a forked child: end as SIGTERM asks
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)
            return
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _part_warnings_as_lines() -> Iterator[None]:
    """A note about an output folder (``sim.results.ResultsWarning``: a part that fails its
    check, a stale lock taken over) is reported as one ``vbcsim: warning: ...`` line on
    stderr; other warnings as usual."""
    shown = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):  # noqa: ANN001
        from sim.resources import MemoryWarning
        from sim.results import ResultsWarning

        if issubclass(category, ResultsWarning | MemoryWarning):
            print(f"{PROG}: warning: {message}", file=sys.stderr)
        else:
            shown(message, category, filename, lineno, file, line)

    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = shown


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
        with _sigterm_as_interrupt(), _part_warnings_as_lines():
            return args.handler(args, argv, sys.stdout)
    except (UsageError, ScenarioError) as exc:
        _report(exc, args.debug)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt as exc:
        partial = getattr(exc, "partial_run", None)
        if partial is not None and partial.done:
            print(f"{PROG}: interrupted; {partial.done} of {partial.total} replication(s) are "
                  f"saved in {partial.path}; complete them with --resume {partial.path}",
                  file=sys.stderr)
        else:
            print(f"{PROG}: interrupted; no replication finished", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. `vbcsim run x | head`: stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILED
    except Exception as exc:
        _report(exc, args.debug)
        partial = getattr(exc, "partial_run", None)
        if partial is not None and partial.done:
            print(f"{PROG}: {partial.done} of {partial.total} replication(s) finished and are "
                  f"saved in {partial.path} (--resume {partial.path} completes the run once "
                  "the cause is fixed)", file=sys.stderr)
        if not args.debug:
            print(f"{PROG}: (run with --debug for the traceback)", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
