"""Measure every run-time claim that the docs, scenario comments and notebooks make.

Each claim (:data:`CLAIMS`) names the file that makes it, the words of the claim as written
there (``tests/test_runtime_claims.py`` checks that every run-time phrase in those files is
one of them, and that each is still written there) and how to reproduce what it times: a
``vbcsim`` command or a notebook executed at full size, each in a fresh subprocess. The
script reports wall time and CPU time (the process and its workers: user + system of the
children) and whether the wall time is within the claim's limit; ``--write`` records the
table in benchmarks/README.md.

    PYTHONPATH=. python benchmarks/runtime_claims.py --list
    PYTHONPATH=. python benchmarks/runtime_claims.py --only quick_run
    PYTHONPATH=. python benchmarks/runtime_claims.py --write        # all: ~10 minutes

Timings depend on the machine and its load: the limits are for an idle 2-core machine
("within" judges the wall time); the table records the 1-minute load average, and on a busy
machine the CPU time (all processes of the run) is the fairer measure.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
README = REPO / "benchmarks" / "README.md"
BEGIN, END = "<!-- runtime-claims:begin -->", "<!-- runtime-claims:end -->"


@dataclass(frozen=True)
class Claim:
    """One run-time claim: where it is written, its words there, the limit it implies
    (wall seconds on an idle 2-core machine) and the command that reproduces it."""

    name: str
    file: str
    words: str
    limit_s: float
    command: tuple[str, ...]


def _notebook(name: str) -> tuple[str, ...]:
    """Execute a notebook at full size (VBCSIM_NOTEBOOK_SMALL unset) in a fresh kernel."""
    code = ("import nbformat, nbclient, sys; "
            f"nb = nbformat.read({str(REPO / 'notebooks' / name)!r}, as_version=4); "
            "nbclient.NotebookClient(nb, kernel_name='python3', timeout=3600, "
            f"resources={{'metadata': {{'path': {str(REPO / 'notebooks')!r}}}}}).execute()")
    return (sys.executable, "-c", code)


VBCSIM = (sys.executable, "-m", "sim.cli")

CLAIMS = (
    Claim("ffs_baseline_default", "scenarios/ffs_baseline.yaml", "about 20 s on 2 cores", 30,
          (*VBCSIM, "run", "ffs_baseline", "-q", "--out", "{tmp}/run")),
    Claim("quick_run", "README.md", "in seconds rather than minutes", 60,
          (*VBCSIM, "run", "ffs_baseline", "--quick", "-q", "--out", "{tmp}/quick")),
    Claim("notebook_quickstart", "notebooks/01_quickstart.ipynb",
          "runs in under a minute on two cores", 60, _notebook("01_quickstart.ipynb")),
    Claim("notebook_transition_plan", "notebooks/02_transition_plan.ipynb",
          "the notebook takes about a minute and a half", 120,
          _notebook("02_transition_plan.ipynb")),
    Claim("notebook_custom_contract", "notebooks/03_custom_contract.ipynb",
          "the notebook takes a little over\na minute", 100,
          _notebook("03_custom_contract.ipynb")),
    Claim("notebook_panel_size", "notebooks/04_panel_size_and_noise.ipynb",
          "about two and a half minutes on two cores", 180,
          _notebook("04_panel_size_and_noise.ipynb")),
    Claim("test_suite", "README.md", "about 4\nminutes on two cores", 300,
          (sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(REPO / "tests"))),
    # one evaluation of the shipped calibration (the claim's 30 evaluations scale with it)
    Claim("calibration_evaluation", "docs/calibration.md",
          "about 15 s, and 30 evaluations about 8 minutes", 30,
          (*VBCSIM, "calibrate", str(REPO / "scenarios" / "calibration" /
                                     "behaviour_first_year.yaml"),
           "--out", "{tmp}/cal", "--max-evaluations", "1", "--quiet")),
)

#: phrases that state a run time (what tests/test_runtime_claims.py looks for)
RUNTIME_PHRASE = re.compile(
    r"(about|under|in|takes|over)\s+(a\s+|an\s+)?(little\s+over\s+)?"
    r"(\d+(\.\d+)?\s*(s|seconds?|minutes?)|a minute|seconds)\b", re.I)
#: files whose run-time phrases must each be a claim here
CLAIM_FILES = ("README.md", "docs/*.md", "scenarios/*.yaml", "notebooks/*.ipynb")


def measure(claim: Claim) -> dict[str, object]:
    """Run the claim's command in a fresh subprocess; wall and CPU seconds."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])}
    env.pop("VBCSIM_NOTEBOOK_SMALL", None)
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [c.replace("{tmp}", tmp) for c in claim.command]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True,
                              check=False)
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        raise RuntimeError(f"{claim.name}: {' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")
    return {"claim": claim.name, "file": claim.file, "words": " ".join(claim.words.split()),
            "limit_s": claim.limit_s, "wall_s": round(wall, 1), "cpu_s": round(cpu, 1),
            "load": round(os.getloadavg()[0], 1), "within": wall <= claim.limit_s}


def table(rows: list[dict[str, object]]) -> str:
    head = ("| claim | where | as written | limit (wall s) | wall s | CPU s | load | within |\n"
            "|---|---|---|---|---|---|---|---|")
    lines = [f"| {r['claim']} | `{r['file']}` | {r['words']} | {r['limit_s']:g} | "
             f"{r['wall_s']} | {r['cpu_s']} | {r['load']} | "
             f"{'yes' if r['within'] else '**no**'} |" for r in rows]
    return "\n".join([head, *lines])


def _recorded(text: str) -> dict[str, str]:
    """The table rows already recorded in benchmarks/README.md, by claim name."""
    if BEGIN not in text:
        return {}
    block = text[text.index(BEGIN):text.index(END)]
    return {line.split("|")[1].strip(): line for line in block.splitlines()
            if line.startswith("| ") and not line.startswith("| claim ")}


def write(rows: list[dict[str, object]]) -> None:
    """Replace (or append) the recorded table in benchmarks/README.md: the claims measured
    now, the earlier record of the others (with its date), or "not measured yet"."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    text = README.read_text(encoding="utf-8")
    old = _recorded(text)
    now = {str(r["claim"]): r for r in rows}
    lines = table(rows).splitlines()[:2]
    for c in CLAIMS:
        if c.name in now:
            lines.append(table([now[c.name]]).splitlines()[-1])
        elif c.name in old:
            lines.append(old[c.name])
        else:
            lines.append(f"| {c.name} | `{c.file}` | {' '.join(c.words.split())} | "
                         f"{c.limit_s:g} | not measured yet | | | |")
    block = (f"{BEGIN}\nLast written {stamp} by `PYTHONPATH=. python benchmarks/runtime_claims.py "
             f"--write` (CPU: {os.cpu_count()} cores; the load of the machine shows in wall "
             f"time, not in CPU time).\n\n" + "\n".join(lines) + f"\n{END}")
    if BEGIN in text:
        text = text[:text.index(BEGIN)] + block + text[text.index(END) + len(END):]
    else:
        text += "\n" + block + "\n"
    README.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", metavar="NAME", help="measure this claim")
    parser.add_argument("--list", action="store_true", help="list the claims and stop")
    parser.add_argument("--write", action="store_true", help="record in benchmarks/README.md")
    args = parser.parse_args(argv)
    if args.list:
        for c in CLAIMS:
            print(f"{c.name:<26} {c.file}: {c.words!r} (limit {c.limit_s:g} s)")
        return 0
    chosen = [c for c in CLAIMS if not args.only or c.name in args.only]
    rows = []
    for c in chosen:
        rows.append(measure(c))
        print(table(rows[-1:]).splitlines()[-1], flush=True)
    if args.write:
        write(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
