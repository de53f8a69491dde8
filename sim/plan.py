"""``vbcsim plan``: run an organisation through the payment options open to it and rank them.

Issue 15 item 3. From a scenario whose plan holds an MSSP contract (as ``vbcsim init
--from-puf`` writes), :func:`plan_options` lists the options the ACO has next, by the rules
in :data:`RULES`; :func:`run_plan` runs them together (``sim.runner.compare``: common random
numbers, the same parameter draws in every option), ranks them by expected margin, NPV (at
payment dates), probability of owing and worst cash position of the ACO (``sim.risk``), and
with ``tornado > 0`` shows which assumptions drive the choice between the first two
(``sim.sensitivity.tornado`` on both, paired; the investments' own swing analytically).

Every option carries the investment it needs (:data:`INVESTMENTS`, per assigned
beneficiary; each labelled with its source or as an assumption). Money is reported for the
simulated panel and, when the panel was scaled down (``size``), multiplied by
real size / simulated size (stated in the report). Layer 7: it runs simulations.
"""

from __future__ import annotations

import copy
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

#: BASIC glide-path levels in order (42 CFR 425.600(a)(4)(i)(A)): A, B one-sided; C-E two-sided
GLIDE = ("BASIC_A", "BASIC_B", "BASIC_C", "BASIC_D", "BASIC_E")
ONE_SIDED = {"BASIC_A", "BASIC_B"}

#: the rules used to decide which options are open (shown in the report)
RULES: dict[str, str] = {
    "stay": "Current track held for the whole horizon: the reference. Open to ENHANCED and "
            "BASIC E ACOs (the end of the glide path); a BASIC A-D ACO is normally advanced "
            "one level each performance year (42 CFR 425.600(a)(4)(i)(B)), except that "
            "inexperienced ACOs in agreements from 2024 may stay in level A (CY2023 PFS "
            "final rule), so for B-D it is a what-if.",
    "glide_up": "Move up the BASIC glide path: one level higher from the first plan year, "
                "then one level a year up to E (an ACO may elect to advance faster, 42 CFR "
                "425.600(a)(4)(i)(C)); open to BASIC A-D ACOs.",
    "enhanced": "ENHANCED track (75% sharing, two-sided; 42 CFR 425.610): open to every MSSP "
                "ACO at a new agreement (early renewal, 42 CFR 425.224); not shown for an "
                "ACO already in ENHANCED (it is 'stay').",
    "reach": "ACO REACH, Global option with primary-care capitation: a separate CMS model "
             "(leaving MSSP); requires at least 5,000 aligned beneficiaries for a Standard "
             "ACO (REACH participation agreement; the model's minimum). REACH's last "
             "performance year is 2026: later plan years are hypothetical.",
    "capitation": "A payer's global (total-cost) capitation offer for the same panel (as a "
                  "Medicare Advantage plan would make): 3% discount, 5.9% coding adjustment, "
                  "bought stop-loss at $100,000 (as scenarios/capitation_global.yaml). "
                  "Always listed: an offer, not a programme rule.",
}

#: investment each option needs, per assigned beneficiary (one-off in plan year 0, running
#: each year). The current track's infrastructure is sunk (in every option alike).
INVESTMENTS: dict[str, dict[str, Any]] = {
    "stay": {"one_off": 0.0, "running": 0.0, "source": "none beyond what the ACO runs now"},
    "glide_up": {
        "one_off": 25.0, "running": 32.0,
        "source": "assumption: care managers and data system, $250,000 + $300,000/yr per "
                  "10,000 patients (as scenarios/aco_basic_glide.yaml), plus carrying a "
                  "repayment mechanism of 1% of benchmark expenditure (42 CFR 425.204(f)) at "
                  "~1.5%/yr (letter-of-credit fee, assumption) ~ $2/yr"},
    "enhanced": {
        "one_off": 25.0, "running": 32.0,
        "source": "as glide_up (same care-management build-out and repayment mechanism)"},
    "reach": {
        "one_off": 45.0, "running": 40.0,
        "source": "assumption: glide_up's build-out plus primary-care capitation operations "
                  "($20 one-off) and a financial guarantee (REACH: a share of the benchmark) "
                  "carried at ~1.5%/yr (~$6/yr)"},
    "capitation": {
        "one_off": 60.0, "running": 45.0,
        "source": "assumption: claims adjudication and payment of other providers (a TPA, "
                  "~$1 PMPM ~ $12/yr), utilisation management and reserves build-up; NAACOS "
                  "(2014): a new ACO's first-year start-up averaged $2.0M (range $0.3-6.7M)"},
}

LABELS = {"stay": "stay on the current track", "glide_up": "move up the BASIC glide path",
          "enhanced": "ENHANCED track", "reach": "ACO REACH Global (with PCC)",
          "capitation": "payer's global capitation offer"}

#: default tornado parameters: the uncertain assumptions most likely to reorder options
#: (each present in the PUF scenario's uncertainty block; the investments are added
#: analytically)
TORNADO_PARAMETERS = (
    "providers.primary_care_group.behavior.pass_through",
    "providers.primary_care_group.behavior.startup_capability",
    "providers.primary_care_group.behavior.risk_aversion",
    "lever_effects.prevention_acsc_rr",
    "lever_effects.elasticity_post_acute",
    "providers.primary_care_group.behavior.fee_elasticity",
)


class PlanError(ValueError):
    """A scenario ``vbcsim plan`` cannot plan from."""


@dataclass
class PlanOption:
    """One option: its key, label, contracts by plan year, investment and the rule."""

    key: str
    label: str
    contracts: list[dict[str, Any]]  # one per plan year
    rule: str
    investment: dict[str, Any]


@dataclass
class PlanResult:
    """The options run, their ranking, the tornado of the choice and the run itself."""

    options: list[PlanOption]
    ranking: pd.DataFrame
    tornado: pd.DataFrame | None
    result: Any
    aco: str
    scale: float
    size: int
    real_size: int
    notes: list[str] = field(default_factory=list)

    def format(self) -> str:
        """The report as markdown text."""
        return format_plan(self)


def _mssp_of(data: dict[str, Any]) -> dict[str, Any]:
    for period in data.get("plan") or []:
        for c in period.get("contracts") or []:
            if c.get("type") == "mssp":
                return c
    raise PlanError("the scenario's plan has no MSSP contract (type: mssp): `vbcsim plan` "
                    "starts from an MSSP ACO, e.g. a scenario written by `vbcsim init "
                    "--from-puf`")


def plan_options(data: dict[str, Any], horizon: int) -> list[PlanOption]:
    """The options open to the ACO of scenario ``data`` (a scenario mapping), by
    :data:`RULES`."""
    mssp = _mssp_of(data)
    track = str(mssp.get("track") or "BASIC_A")
    aco = mssp.get("aco", "primary_care_group")
    base = {k: v for k, v in mssp.items() if k not in ("track",)}
    size = int((data.get("population") or {}).get("size") or 10_000)
    out = [PlanOption("stay", LABELS["stay"], [{**base, "track": track}] * horizon,
                      RULES["stay"], INVESTMENTS["stay"])]
    if track in GLIDE[:-1]:
        i = GLIDE.index(track)
        years = [{**base, "track": GLIDE[min(i + 1 + y, len(GLIDE) - 1)]}
                 for y in range(horizon)]
        if track in ONE_SIDED:  # a one-sided ACO moving to risk: symmetric MSR/MLR by size
            for c in years:
                c.pop("msr", None)
                c.pop("mlr", None)
        out.append(PlanOption("glide_up", LABELS["glide_up"], years, RULES["glide_up"],
                              INVESTMENTS["glide_up"]))
    if track != "ENHANCED":
        enh = {**base, "track": "ENHANCED"}
        if track in ONE_SIDED:
            enh.pop("msr", None)
            enh.pop("mlr", None)
        out.append(PlanOption("enhanced", LABELS["enhanced"], [enh] * horizon,
                              RULES["enhanced"], INVESTMENTS["enhanced"]))
    if size >= 5_000:
        reach = {"type": "reach", "payer": mssp.get("payer", "medicare"), "aco": aco,
                 "option": "global", "primary_care_capitation": True}
        out.append(PlanOption("reach", LABELS["reach"], [reach] * horizon, RULES["reach"],
                              INVESTMENTS["reach"]))
    cap = {"type": "capitation", "payer": mssp.get("payer", "medicare"), "provider": aco,
           "scope": "total_cost", "discount": 0.03, "coding_adjustment": 0.059,
           "stop_loss": {"attachment_usd": 100000, "coinsurance": 0.2, "pricing": "premium",
                         "loading": 1.25}}
    out.append(PlanOption("capitation", LABELS["capitation"], [cap] * horizon,
                          RULES["capitation"], INVESTMENTS["capitation"]))
    return out


def _trend_dist(data: dict[str, Any]) -> dict[str, Any]:
    for k, v in (data.get("uncertainty") or {}).items():
        if k.endswith("trend_per_year"):
            return copy.deepcopy(v)
    # as scenarios/mssp_one_sided.yaml: the benchmark-trend gap (judgement)
    return {"dist": "normal", "mean": 0.0, "sd": 0.005, "low": -0.02, "high": 0.02}


def option_data(data: dict[str, Any], option: PlanOption, horizon: int,
                size: int | None = None) -> dict[str, Any]:
    """The scenario mapping of ``option``: FFS all years, the option's contract in each
    plan year (its own period, so the glide path can step), its investment, and the
    benchmark-trend uncertainty on each year's contract (same paths in every option:
    common parameter draws)."""
    from sim.contracts.mssp.rules import minimum_savings_rate

    d = copy.deepcopy(data)
    real = int((d.get("population") or {}).get("size") or 10_000)
    n = min(size, real) if size else real
    d.setdefault("population", {})["size"] = n
    d["name"] = f"{str(d.get('name', 'aco'))[:80]}_{option.key}"
    d["horizon_years"] = horizon
    payer = _mssp_of(data).get("payer", "medicare")
    trend = _trend_dist(data)
    unc = {k: v for k, v in (d.get("uncertainty") or {}).items() if not k.startswith("plan.")}
    plan = [{"years": "all", "contracts": [{"type": "ffs", "payer": payer}]}]
    for y, c in enumerate(option.contracts):
        c = copy.deepcopy(c)
        if c["type"] == "mssp" and c.get("msr") is None:
            # the real ACO's size, not the panel's (two-sided: the symmetric size-based
            # option, MLR = MSR; a panel below 5,000 still gets the small-ACO rule)
            c["msr"] = minimum_savings_rate(real)
        plan.append({"years": y, "contracts": [c]})
        if c["type"] in ("mssp", "reach"):
            unc[f"plan.{y + 1}.contracts.0.trend_per_year"] = trend
    d["plan"] = plan
    if unc:
        d["uncertainty"] = unc
    else:
        d.pop("uncertainty", None)
    inv = option.investment
    holder = _mssp_of(data).get("aco", "primary_care_group")
    if inv["one_off"] or inv["running"]:
        d["investments"] = [*(d.get("investments") or []), {
            "provider": holder, "label": f"{option.key}: {inv['source'][:120]}", "year": 0,
            "one_off_usd": round(inv["one_off"] * n, 2),
            "running_usd_per_year": round(inv["running"] * n, 2)}]
    d["replications"] = d.get("replications", 1)
    return d


def _p_owing_any_year(results: pd.DataFrame, entity: str) -> pd.Series:
    s = results[(results["entity"] == entity) & (results["metric"] == "settlement_usd")]
    if s.empty:
        return pd.Series(dtype=float)
    owes = s.groupby(["scenario", "replication"], observed=True)["value"].min() < 0
    return owes.groupby(level="scenario", observed=True).mean()


def rank(result: Any, options: list[PlanOption], entity: str, scale: float,
         names: dict[str, str] | None = None) -> pd.DataFrame:
    """Per option: expected margin (sum of plan years), NPV (margin at payment dates,
    provider discount rate), P(owing in any year), P(loss), worst cumulative cash (mean and
    5th percentile); money x ``scale``; ranked by NPV."""
    from sim.risk import risk_table

    res = result.results
    risk = risk_table(res)
    risk = risk[risk["entity"] == entity].set_index("scenario")
    owing = _p_owing_any_year(res, entity)
    rows = []
    if names is None:  # the scenarios in the order the options were run
        order = list(dict.fromkeys(res["scenario"].astype(str)))
        names = {o.key: n for o, n in zip(options, order, strict=True)}
    for opt in options:
        scen = names[opt.key]
        r = risk.loc[scen] if scen in risk.index else pd.Series(dtype=float)

        def g(col: str, r: pd.Series = r) -> float:
            return float(r[col]) if col in r and pd.notna(r[col]) else float("nan")

        rows.append({
            "option": opt.key, "label": opt.label, "scenario": scen,
            "expected_margin_usd": g("margin_mean") * scale,
            "npv_usd": (g("margin_pv_mean") if not math.isnan(g("margin_pv_mean"))
                        else g("margin_mean")) * scale,
            "p_owing": float(owing.get(scen, 0.0)),
            "p_loss": g("p_negative_margin"),
            "worst_cash_mean_usd": g("worst_cash_mean") * scale,
            "worst_cash_p5_usd": g("worst_cash_p5") * scale,
            "investment_one_off_usd": opt.investment["one_off"],
            "investment_running_usd": opt.investment["running"],
        })
    table = pd.DataFrame(rows)
    for col, asc in (("expected_margin_usd", False), ("npv_usd", False), ("p_owing", True),
                     ("worst_cash_p5_usd", False)):
        table[f"rank_{col.removesuffix('_usd')}"] = table[col].rank(
            ascending=asc, method="min").astype("Int64")
    return table.sort_values("npv_usd", ascending=False, kind="stable").reset_index(drop=True)


def choice_tornado(scenarios: dict[str, Any], ranking: pd.DataFrame, options: list[PlanOption],
                   parameters: list[str], replications: int, seed: int, entity: str,
                   scale: float, horizon: int, discount: float,
                   executor: Any = None) -> pd.DataFrame:
    """One-way sensitivity of the NPV gap between the first two options: each parameter at
    the ends of its 95% interval in both (same seeds), and each option's investment at
    +/-50% (analytic: the investment does not change practice)."""
    from sim.sensitivity import tornado

    first, second = ranking["option"].iloc[0], ranking["option"].iloc[1]
    tabs = {}
    for key in (first, second):
        sc = scenarios[key]
        paths = [p for p in parameters if _has_distribution(sc, p)]
        tabs[key] = tornado(sc, paths, "margin_pv_usd", entity=entity,
                            replications=replications, seed=seed, over_years="total",
                            executor=executor, progress=False).set_index("parameter")
    common = [p for p in tabs[first].index if p in tabs[second].index]
    rows = []
    for p in common:
        a, b = tabs[first].loc[p], tabs[second].loc[p]
        lo = (a["metric_low"] - b["metric_low"]) * scale
        hi = (a["metric_high"] - b["metric_high"]) * scale
        base = (a["metric_base"] - b["metric_base"]) * scale
        rows.append({"parameter": p, "low_value": a["low_value"], "high_value": a["high_value"],
                     "gap_base_usd": base, "gap_low_usd": lo, "gap_high_usd": hi,
                     # reverses: at one end (or both) the second option comes out ahead
                     "swing_usd": abs(hi - lo), "reverses": bool(min(lo, hi) < 0)})
    annuity = sum(1 / (1 + discount) ** t for t in range(horizon))
    by_key = {o.key: o for o in options}
    gap_base = rows[0]["gap_base_usd"] if rows else float("nan")
    real = scale * next(iter(scenarios.values())).population.size
    for key, sign in ((first, 1.0), (second, -1.0)):
        inv = by_key[key].investment
        pv = (inv["one_off"] + inv["running"] * annuity) * real
        if pv <= 0:
            continue
        lo, hi = gap_base + sign * 0.5 * pv, gap_base - sign * 0.5 * pv
        rows.append({"parameter": f"investment of '{key}' (+/-50%)", "low_value": 0.5,
                     "high_value": 1.5, "gap_base_usd": gap_base, "gap_low_usd": lo,
                     "gap_high_usd": hi, "swing_usd": abs(hi - lo),
                     "reverses": bool(min(lo, hi) < 0)})
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    # the columns sim.plots.tornado draws: the gap is the output
    table = table.assign(metric=f"NPV gap {first} - {second} (USD)", entity=entity,
                         metric_base=table["gap_base_usd"], metric_low=table["gap_low_usd"],
                         metric_high=table["gap_high_usd"])
    table.attrs["first"], table.attrs["second"] = first, second
    return table.sort_values("swing_usd", ascending=False, kind="stable").reset_index(drop=True)


def _has_distribution(sc: Any, path: str) -> bool:
    from sim.scenario.uncertain import uncertainty_of

    return any(".".join(map(str, p.keys)) == path or p.path == path
               for p in uncertainty_of(sc).parameters)


def run_plan(source: str | os.PathLike[str] | dict[str, Any], *, replications: int = 8,
             size: int | None = 5_000, horizon: int | None = None, seed: int | None = None,
             tornado: int = 4, tornado_replications: int | None = None,
             parameters: list[str] | None = None, **kwargs: Any) -> PlanResult:
    """Run the options open to the ACO of ``source`` (scenario file or mapping) and rank
    them. ``size``: simulated panel (money scaled back to the real size; at least 5,000
    keeps the programme's small-ACO MSR/MLR rule out of the way); ``tornado``: number of
    assumptions in the tornado of the choice (0: none). Other keywords go to
    :func:`sim.runner.compare` (``executor``, ``progress``...)."""
    from sim.runner import compare
    from sim.scenario import scenario_from_dict
    from sim.scenario.loader import resolve_scenario_dict

    if isinstance(source, dict):
        data, name = copy.deepcopy(source), "<plan>"
    else:
        data, name = resolve_scenario_dict(source), os.fspath(source)
    horizon = horizon or int(data.get("horizon_years") or 5)
    real = int((data.get("population") or {}).get("size") or 10_000)
    options = plan_options(data, horizon)
    mssp = _mssp_of(data)
    entity = mssp.get("aco", "primary_care_group")
    scenarios = {o.key: scenario_from_dict(option_data(data, o, horizon, size),
                                           source=f"{name} [{o.key}]") for o in options}
    n = next(iter(scenarios.values())).population.size
    scale = real / n
    seed = next(iter(scenarios.values())).seed if seed is None else seed
    result = compare(list(scenarios.values()), replications=replications, seed=seed, **kwargs)
    ranking = rank(result, options, entity, scale, {k: sc.name for k, sc in scenarios.items()})
    table = None
    if tornado and len(ranking) >= 2:
        params = list(parameters or TORNADO_PARAMETERS)[:tornado]
        disc = float((data.get("economics") or {}).get("discount_rate", 0.03))
        table = choice_tornado(scenarios, ranking, options, params,
                               tornado_replications or replications, seed, entity, scale,
                               horizon, disc, kwargs.get("executor"))
    notes = [f"simulated panel {n:,} patients; money x {scale:.2f} to the real "
             f"{real:,} beneficiaries" if scale != 1 else f"panel {n:,} patients (real size)",
             f"{replications} replications, seed {seed}, common random numbers and parameter "
             "draws across options; horizon " f"{horizon} years"]
    return PlanResult(options, ranking, table, result, str(data.get("name", "aco")), scale, n,
                      real, notes)


def _usd(x: float) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{'-' if x < 0 else ''}${abs(x) / 1e6:,.2f}M"


def format_plan(p: PlanResult) -> str:
    """The plan report (markdown)."""
    lines = [f"# Options for {p.aco}", "", *[f"* {n}" for n in p.notes], "",
             "## Ranking (by NPV of the ACO's margin at payment dates)", "",
             "| rank | option | expected margin | NPV | P(owing) | P(loss) | worst cash (mean; "
             "5th pct) | investment per beneficiary (one-off; per year) |",
             "| ---: | --- | ---: | ---: | ---: | ---: | --- | --- |"]
    for i, r in p.ranking.iterrows():
        lines.append(
            f"| {i + 1} | {r['label']} | {_usd(r['expected_margin_usd'])} | "
            f"{_usd(r['npv_usd'])} | {r['p_owing']:.0%} | {r['p_loss']:.0%} | "
            f"{_usd(r['worst_cash_mean_usd'])}; {_usd(r['worst_cash_p5_usd'])} | "
            f"${r['investment_one_off_usd']:.0f}; ${r['investment_running_usd']:.0f} |")
    lines += ["", "Ranks by each criterion (1 = best): " + "; ".join(
        f"{r['option']}: margin {r['rank_expected_margin']}, NPV {r['rank_npv']}, owing "
        f"{r['rank_p_owing']}, worst cash {r['rank_worst_cash_p5']}"
        for _, r in p.ranking.iterrows()), ""]
    if p.tornado is not None and not p.tornado.empty:
        t = p.tornado
        lines += [f"## What drives the choice: NPV gap '{t.attrs.get('first')}' minus "
                  f"'{t.attrs.get('second')}'", "",
                  "| assumption | low; high | gap at low | gap at high | swing | reverses? |",
                  "| --- | --- | ---: | ---: | ---: | --- |"]
        for _, r in t.iterrows():
            lines.append(f"| {r['parameter']} | {r['low_value']:.3g}; {r['high_value']:.3g} | "
                         f"{_usd(r['gap_low_usd'])} | {_usd(r['gap_high_usd'])} | "
                         f"{_usd(r['swing_usd'])} | {'**yes**' if r['reverses'] else 'no'} |")
        lines.append("")
    lines += ["## Options and the rules used", ""]
    for o in p.options:
        lines.append(f"* **{o.label}** (`{o.key}`): {o.rule} Investment: "
                     f"${o.investment['one_off']:.0f} one-off and "
                     f"${o.investment['running']:.0f}/yr per beneficiary ({o.investment['source']}).")
    return "\n".join(lines) + "\n"


def write_plan(p: PlanResult, out: str | os.PathLike[str]) -> list[Path]:
    """The report (``plan.md``), the ranking and the tornado (CSV) in folder ``out``."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / "plan.md", folder / "ranking.csv"]
    paths[0].write_text(p.format(), encoding="utf-8")
    p.ranking.to_csv(paths[1], index=False)
    if p.tornado is not None and not p.tornado.empty:
        paths.append(folder / "tornado.csv")
        p.tornado.to_csv(paths[-1], index=False)
    return paths


__all__ = ["INVESTMENTS", "RULES", "PlanError", "PlanOption", "PlanResult", "format_plan",
           "option_data", "plan_options", "rank", "run_plan", "write_plan"]


