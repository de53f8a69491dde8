"""The seed-pinned baseline: small scenarios whose results are stored and compared exactly.

Each case in ``cases/*.yaml`` (a library scenario at 300 patients, 2 plan years, 2
replications, a fixed seed; fixed behaviour except one case with the behaviour model on) is
run with :func:`sim.run` in this process. What it produced is kept in four CSV files next to
this script, one row per number:

- ``results.csv``: the tidy results table (population metrics, provider revenue, settlement,
  cost and margin, levers and incentives), per case, replication, year, entity and metric;
- ``statements.csv``: the itemised settlement statements (``settlements.parquet``);
- ``cash_flows.csv``: the money moved, payer to provider, by kind and contract;
- ``draws.csv``: the draws of uncertain parameters.

``tests/test_baseline.py`` recomputes every case and requires the same numbers, bit for bit
(floats are written with Python's shortest round-trip repr, which pandas reads back as the
same double; :func:`write` checks it). To change the
numbers on purpose, run from the repository root::

    PYTHONPATH=$PWD python tests/baseline/update.py          # rewrite, print what changed
    PYTHONPATH=$PWD python tests/baseline/update.py --check  # only print what changed

and review the printed differences (and ``git diff tests/baseline``) before committing.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import platform
import sys
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
CASES_DIR = HERE / "cases"
CASES = sorted(p.stem for p in CASES_DIR.glob("*.yaml"))

#: Stored tables: file stem -> (key columns, value column). Keys identify one number; a
#: number that repeats a key (e.g. two statement lines with the same item) is told apart by
#: its occurrence, counted in the order the simulator wrote it.
TABLES: dict[str, tuple[list[str], str]] = {
    "results": (["scenario", "replication", "year", "entity", "metric"], "value"),
    "statements": (["scenario", "replication", "year", "label", "entity", "statement",
                    "contract", "kind", "item"], "value"),
    "cash_flows": (["scenario", "replication", "year", "source", "target", "kind",
                    "contract"], "amount_usd"),
    "draws": (["scenario", "replication", "parameter"], "value"),
}
VERSIONS_FILE = HERE / "versions.json"
SHOWN = 25  # differences listed per table and case before "... and N more"


def run_case(case: str) -> dict[str, pd.DataFrame]:
    """Run one case (serially, in this process) and return its tables in stored form."""
    import sim

    result = sim.run(CASES_DIR / f"{case}.yaml", workers=1, progress=False)
    raw = {"results": result.results, "statements": result.tables["settlements"],
           "cash_flows": result.tables["cash_flows"], "draws": result.draws}
    return {name: canonical(name, raw[name]) for name in TABLES}


def canonical(name: str, df: pd.DataFrame) -> pd.DataFrame:
    """Keep a table's key and value columns, numbered occurrences, through a CSV round trip
    (so fresh and stored tables have the same types)."""
    keys, value = TABLES[name]
    df = df.reindex(columns=[*keys, value]).reset_index(drop=True)
    df["scenario"] = df["scenario"].astype(str)
    df.insert(len(keys), "occurrence", df.groupby(keys, dropna=False, sort=False).cumcount())
    back = read_csv(io.StringIO(df.to_csv(index=False)))
    a, b = df[value].to_numpy(float), back[value].to_numpy(float)
    if not ((a == b) | (np.isnan(a) & np.isnan(b))).all():
        raise AssertionError(f"{name}: a value does not survive the CSV round trip exactly")
    return back


def read_csv(source) -> pd.DataFrame:
    """Read a stored table: exact doubles, key columns as text (empty stays empty)."""
    return pd.read_csv(source, keep_default_na=False,
                       na_values={"value": ["NaN", "nan", ""], "amount_usd": ["NaN", "nan", ""]},
                       dtype={"replication": "int64", "year": "int64", "occurrence": "int64",
                              "statement": "int64", "scenario": str, "entity": str,
                              "metric": str, "label": str, "contract": str, "kind": str,
                              "item": str, "source": str, "target": str, "parameter": str})


def run_all(cases: Iterable[str] = CASES) -> dict[str, pd.DataFrame]:
    """Every case, tables concatenated."""
    parts: dict[str, list[pd.DataFrame]] = {name: [] for name in TABLES}
    for case in cases:
        for name, df in run_case(case).items():
            parts[name].append(df)
    return {name: pd.concat(frames, ignore_index=True) for name, frames in parts.items()}


def load(case: str | None = None) -> dict[str, pd.DataFrame]:
    """The stored tables (of one case, or all)."""
    out = {}
    for name in TABLES:
        df = read_csv(HERE / f"{name}.csv")
        out[name] = df if case is None else df[df["scenario"] == case].reset_index(drop=True)
    return out


def versions() -> dict[str, str]:
    """The library versions the numbers were made with (shown when they differ)."""
    import scipy
    import simpy

    return {"python": platform.python_version(), "numpy": np.__version__,
            "pandas": pd.__version__, "scipy": scipy.__version__, "simpy": simpy.__version__}


def _fmt(x: float) -> str:
    return "missing" if x is None else repr(float(x))


def differences(old: dict[str, pd.DataFrame], new: dict[str, pd.DataFrame]) -> list[str]:
    """Readable lines naming every number that differs (exactly), appeared or disappeared:
    table, scenario, replication, year, entity/metric (or item), old and new value."""
    lines: list[str] = []
    for name, (keys, value) in TABLES.items():
        k = [*keys, "occurrence"]
        both = old[name].merge(new[name], on=k, how="outer", suffixes=("_old", "_new"),
                               indicator=True)
        a, b = both[f"{value}_old"], both[f"{value}_new"]
        same = (both["_merge"] == "both") & ((a == b) | (a.isna() & b.isna()))
        bad = both[~same]
        if bad.empty:
            continue
        for scenario, rows in bad.groupby("scenario", sort=True):
            changed = rows[rows["_merge"] == "both"]
            gone = rows[rows["_merge"] == "left_only"]
            added = rows[rows["_merge"] == "right_only"]
            lines.append(f"{name}.csv, scenario {scenario}: {len(changed)} value(s) changed, "
                         f"{len(gone)} row(s) missing, {len(added)} new row(s)")
            rel = ((changed[f"{value}_new"] - changed[f"{value}_old"]).abs()
                   / changed[f"{value}_old"].abs().replace(0.0, np.nan))
            order = rel.fillna(math.inf).sort_values(ascending=False, kind="stable").index
            shown = 0
            for i in order:
                r = changed.loc[i]
                where = ", ".join(f"{c} {r[c]}" for c in keys[1:]
                                  if not (c == "statement" and r[c] == 0))
                if r["occurrence"]:
                    where += f" (occurrence {r['occurrence']})"
                rr = rel.loc[i]
                note = "" if pd.isna(rr) else f" (relative change {rr:.3g})"
                lines.append(f"  {where}: old {_fmt(r[f'{value}_old'])}, "
                             f"new {_fmt(r[f'{value}_new'])}{note}")
                shown += 1
                if shown == SHOWN:
                    break
            for label, part in (("missing (in the baseline, not produced now)", gone),
                                ("new (produced now, not in the baseline)", added)):
                for _, r in part.head(SHOWN).iterrows():
                    where = ", ".join(f"{c} {r[c]}" for c in keys[1:])
                    lines.append(f"  {label}: {where}")
                    shown += 1
            if len(rows) > shown:
                lines.append(f"  ... and {len(rows) - shown} more")
    if lines:
        stored = json.loads(VERSIONS_FILE.read_text()) if VERSIONS_FILE.exists() else {}
        now = versions()
        moved = [f"{k} {stored.get(k)} -> {now[k]}" for k in now if stored.get(k) != now[k]]
        if moved:
            lines.append("note: the baseline was made with other library versions: "
                         + "; ".join(moved))
        lines.append("If the change is intended: PYTHONPATH=$PWD python tests/baseline/update.py, "
                     "then review git diff tests/baseline.")
    return lines


def write(tables: dict[str, pd.DataFrame]) -> None:
    """Store the tables (they have already been through a CSV round trip)."""
    for name, df in tables.items():
        df.to_csv(HERE / f"{name}.csv", index=False)
    VERSIONS_FILE.write_text(json.dumps(versions(), indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="print what changed and exit 1 if anything did; write nothing")
    args = parser.parse_args(argv)
    new = run_all()
    stored = (HERE / "results.csv").exists()
    lines = differences(load(), new) if stored else ["(no stored baseline yet)"]
    print("\n".join(lines) if lines else "No number changed.")
    if args.check:
        return 1 if lines else 0
    write(new)
    print(f"Wrote {', '.join(f'{n}.csv' for n in TABLES)} in {HERE} "
          f"({sum(len(t) for t in new.values())} numbers, cases: {', '.join(CASES)}).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
