"""How long the whole test suite takes: wall and CPU seconds, serial and in parallel.

Runs ``python -m pytest`` (the README's and ``.ci/run``'s command) from the repository root in a
subprocess once per setting given with ``--mode`` (``auto`` = the default parallel run,
``-n auto --dist loadgroup`` from pyproject; ``0`` = serial, one process; any other value is
passed as ``-n VALUE``), and reports for each:

- wall seconds of the whole command (collection and worker start-up included);
- CPU seconds of the command and every process it waited for (pytest, its xdist workers, and
  what they started and reaped: ``vbcsim`` subprocesses, process pools, Dask clusters, notebook
  kernels), from ``RUSAGE_CHILDREN``;
- the load average before and after (other work on the machine inflates the wall time; CPU
  seconds move much less);
- with ``--per-test``, each test's CPU and wall seconds (this file is also the pytest plug-in
  that records them: ``-p suite_time``), per worker, so the busiest worker's share is known.

On a busy machine the wall time says little; estimate the idle wall time of a parallel run as
``CPU s / workers`` (a lower bound) plus the serial run's non-CPU seconds (idle wall minus CPU:
waiting on subprocesses, sleeps, time limits) divided by the workers, and check with
``--per-test`` that no worker's share is far above the others'.

Usage (about 5 minutes per parallel run and 9 per serial run on an idle 2-core machine)::

    python benchmarks/suite_time.py                       # the default parallel run
    python benchmarks/suite_time.py --mode 0 --mode auto  # serial and parallel, same session
    python benchmarks/suite_time.py --per-test --json suite.json -- tests/care  # a subset

Results are recorded in benchmarks/README.md ("Test-suite time").
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent


# --------------------------------------------------------------------------- pytest plug-in
# Loaded in pytest (and in each xdist worker) with ``-p suite_time``; writes one TSV per process
# to the folder named by $SUITE_TIME_DIR: node id, worker, CPU s (own), CPU s (reaped children),
# wall s, of each test's whole protocol (setup, call, teardown).

_rows: list[tuple] = []


def _cpu() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, kids.ru_utime + kids.ru_stime


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    own0, kids0 = _cpu()
    wall0 = time.perf_counter()
    yield
    own1, kids1 = _cpu()
    _rows.append((item.nodeid, os.environ.get("PYTEST_XDIST_WORKER", "main"),
                  own1 - own0, kids1 - kids0, time.perf_counter() - wall0))


def pytest_sessionfinish(session):
    folder = os.environ.get("SUITE_TIME_DIR")
    if not folder or not _rows:
        return
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    with open(Path(folder) / f"{worker}.tsv", "w", encoding="utf-8") as f:
        for nodeid, who, own, kids, wall in _rows:
            f.write(f"{nodeid}\t{who}\t{own:.3f}\t{kids:.3f}\t{wall:.3f}\n")


# --------------------------------------------------------------------------- the benchmark


def run_suite(mode: str, extra: list[str], per_test: bool) -> dict:
    """Run the suite once with ``-n mode`` (``auto``: pyproject's defaults); its numbers."""
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    if mode != "auto":
        cmd += ["-n", mode]
    env = dict(os.environ)
    folder = tempfile.mkdtemp(prefix="suite-time-")
    if per_test:
        cmd += ["-p", "suite_time"]
        env["PYTHONPATH"] = os.pathsep.join(
            [str(ROOT), str(HERE), *filter(None, [env.get("PYTHONPATH")])])
        env["SUITE_TIME_DIR"] = folder
    cmd += extra
    load0 = os.getloadavg()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    tail = [line for line in proc.stdout.splitlines() if line.strip()][-1:]
    out = {
        "mode": mode, "command": " ".join(cmd[1:]), "exit_code": proc.returncode,
        "summary": tail[0] if tail else "", "wall_s": round(wall, 1),
        "not_passed": [line for line in proc.stdout.splitlines()
                       if line.startswith(("FAILED ", "ERROR "))],
        "cpu_user_s": round(after.ru_utime - before.ru_utime, 1),
        "cpu_sys_s": round(after.ru_stime - before.ru_stime, 1),
        "load_before": [round(x, 2) for x in load0],
        "load_after": [round(x, 2) for x in os.getloadavg()], "cores": os.cpu_count(),
    }
    out["cpu_s"] = round(out["cpu_user_s"] + out["cpu_sys_s"], 1)
    if per_test:
        tests = []
        for path in sorted(Path(folder).glob("*.tsv")):
            for line in path.read_text(encoding="utf-8").splitlines():
                nodeid, who, own, kids, w = line.split("\t")
                tests.append({"test": nodeid, "worker": who, "cpu_s": float(own) + float(kids),
                              "wall_s": float(w)})
        workers: dict[str, dict[str, float]] = {}
        for t in tests:
            w = workers.setdefault(t["worker"], {"tests": 0, "cpu_s": 0.0, "wall_s": 0.0})
            w["tests"] += 1
            w["cpu_s"] += t["cpu_s"]
            w["wall_s"] += t["wall_s"]
        out["workers"] = {k: {m: round(v, 1) for m, v in w.items()} for k, w in workers.items()}
        out["tests"] = sorted(tests, key=lambda t: -t["cpu_s"])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", action="append",
                        help="'auto' (default: pyproject's -n auto), '0' (serial) or a worker "
                             "count; repeat to compare in one session")
    parser.add_argument("--per-test", action="store_true",
                        help="record each test's CPU and wall seconds (plug-in in this file)")
    parser.add_argument("--top", type=int, default=25, help="tests listed with --per-test")
    parser.add_argument("--json", type=Path, help="write every number to this file")
    parser.add_argument("pytest_args", nargs="*", help="after --: passed on to pytest")
    args = parser.parse_args(argv)
    runs = [run_suite(m, args.pytest_args, args.per_test) for m in (args.mode or ["auto"])]
    for r in runs:
        print(f"-n {r['mode']}: {r['summary']}")
        print(f"  wall {r['wall_s']:.0f} s, CPU {r['cpu_s']:.0f} s (user {r['cpu_user_s']:.0f},"
              f" sys {r['cpu_sys_s']:.0f}); CPU / {r['cores']} cores = "
              f"{r['cpu_s'] / r['cores']:.0f} s; load {r['load_before'][0]} -> "
              f"{r['load_after'][0]}; exit code {r['exit_code']}")
        for line in r["not_passed"]:
            print(f"  {line}")
        for name, w in sorted(r.get("workers", {}).items()):
            print(f"  worker {name}: {w['tests']:.0f} tests, CPU {w['cpu_s']:.0f} s, "
                  f"wall in tests {w['wall_s']:.0f} s")
        for t in r.get("tests", [])[:args.top]:
            print(f"    {t['cpu_s']:7.1f} s CPU {t['wall_s']:7.1f} s wall  {t['worker']:5s} "
                  f"{t['test']}")
    if args.json:
        args.json.write_text(json.dumps(runs, indent=1))
    return max(r["exit_code"] for r in runs)


if __name__ == "__main__":
    sys.exit(main())
