"""Time `vbcsim init --from-puf` (sim.puf.scenario_from_puf) per ACO: target under 2 minutes.

For a few ACOs of the PY2023 and PY2024 PUFs, builds the calibrated scenario at the default
calibration panel (10,000 patients, one FFS year after two warm-up years; ten simulations:
the start, 2 rate steps, 6 price-group runs, the check) and reports wall and CPU time of
this process and the largest |difference %| of the fit table. ``--write`` records the
table in benchmarks/README.md.

    PYTHONPATH=. python benchmarks/puf_init.py            # a few minutes on a loaded machine
    PYTHONPATH=. python benchmarks/puf_init.py --write
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from sim.puf import scenario_from_puf

REPO = Path(__file__).resolve().parents[1]
README = REPO / "benchmarks" / "README.md"
BEGIN, END = "<!-- puf-init:begin -->", "<!-- puf-init:end -->"
CMS = Path("/work/shared/data/cms")
CASES = [("mssp_aco_puf_py2023.csv", "A1001"), ("mssp_aco_puf_py2024.csv", "A1001"),
         ("mssp_aco_puf_py2023.csv", "A1247"), ("mssp_aco_puf_py2024.csv", "A1652")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help="record the table in README.md")
    args = ap.parse_args()
    lines = ["| file | ACO | wall s | CPU s | max abs diff % (spending) | max abs diff % "
             "(utilisation) |", "| --- | --- | ---: | ---: | ---: | ---: |"]
    for name, aco in CASES:
        w0, c0 = time.perf_counter(), time.process_time()
        built = scenario_from_puf(CMS / name, aco)
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        fitted = [r for r in built.fit if "not fitted" not in r.target]
        spend = max(abs(r.difference_pct) for r in fitted if r.target.startswith("spend_"))
        util = max((abs(r.difference_pct) for r in fitted
                    if not r.target.startswith("spend_")), default=float("nan"))
        lines.append(f"| {name} | {aco} | {wall:.1f} | {cpu:.1f} | {spend:.1f} | {util:.1f} |")
        print(lines[-1], flush=True)
    load = os.getloadavg()[0]
    table = "\n".join([*lines, "", f"1-minute load average at the end: {load:.1f}."])
    if args.write:
        text = README.read_text()
        block = f"{BEGIN}\n{table}\n{END}"
        if BEGIN in text:
            text = text[:text.index(BEGIN)] + block + text[text.index(END) + len(END):]
        else:
            text = text.rstrip() + "\n\n" + SECTION + block + "\n"
        README.write_text(text)


SECTION = """## `vbcsim init --from-puf`: one ACO from the CMS PUF (issue 15)

`puf_init.py` builds the calibrated scenario of a few ACOs of the PY2023 and PY2024 MSSP ACO
PUFs with the defaults (calibration panel of 10,000 patients; one FFS year after two warm-up
years) and times each in this process
(wall and CPU seconds; ten simulations: the start, two rate steps, six price-group runs,
the check). **Target: under 2 minutes per ACO.** The last two columns are the largest
|difference %| of the fit table (docs/puf.md) by kind of target, in the calibration
panel: spending is solved exactly there (prices are linear), utilisation is within the
ratio steps' Monte Carlo error.

"""


if __name__ == "__main__":
    main()
