"""Value of information from a comparison run with parameter uncertainty (issue 16 item 5).

For a decision between plans (scenarios) with net benefit ``NB_d(theta)`` that depends on
uncertain parameters ``theta`` (drawn once per replication, the ``draws`` table):

* **EVPI** (expected value of perfect information) ``= E[max_d NB_d] - max_d E[NB_d]``,
  computed from the replications' net benefits as they are (the textbook PSA estimate);
* **EVPPI** of a parameter or group ``phi`` ``= E_phi[max_d E(NB_d | phi)] - max_d E[NB_d]``
  by the regression method of Strong, Oakley & Brennan (2014, *Med Decis Making* 34:311-326):
  each option's net benefit *incremental to the reference* is regressed on ``phi`` with an
  additive penalised cubic spline (a GAM: one truncated-power cubic spline per parameter,
  ridge penalty on the knot terms chosen by generalised cross-validation); the fitted values
  estimate ``E(NB_d | phi)``. The group ``all parameters`` is the EVPI of the parameters
  alone: a replication's net benefit also carries patient-level (first-order) simulation
  noise, which the sample EVPI counts as if it were resolvable, so the sample EVPI is an
  upper bound and ``all parameters`` the estimate to quote (``docs/voi.md``).

Two decisions are valued (one row set each):

* ``payer``: which plan maximises expected net monetary benefit ``wtp x QALYs - cost``, at
  each willingness-to-pay, with the cost of the perspective (:func:`sim.comparison.cost_metric`)
  and the QALYs of :func:`sim.comparison.health_outcome` (discounted plan totals), as the
  comparison's NMB and CEAC use them;
* ``provider``: for each entity with ``margin_usd``, which plan maximises its expected margin
  (discounted plan total); in dollars, no willingness-to-pay.

Values are for the simulated population (the results are its totals); ``per_person_usd``
divides by the population size at the start, ``population_usd`` multiplies that by a
population the decision concerns (``population=``) when given.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from sim.comparison import DEFAULT_WTP, cost_metric, health_outcome, plan_values
from sim.constants import DEFAULT_DISCOUNT_RATE

#: The group of every uncertain parameter together (the parameters' EVPI).
ALL_PARAMETERS = "all parameters"
#: Below this many replications the summary says the EVPPIs are rough (docs/voi.md).
STABLE_REPLICATIONS = 200
#: Columns of the value-of-information table.
VOI_COLUMNS = ("decision", "entity", "wtp_usd_per_qaly", "measure", "parameters", "value_usd",
               "per_person_usd", "population_usd", "replications")


class VOIError(ValueError):
    """Value of information cannot be computed from these results (the message says why)."""


# --------------------------------------------------------------------------- the estimators


def evpi(net_benefit: np.ndarray) -> float:
    """EVPI from samples: ``mean over rows of max over columns - max over columns of the
    column means`` (rows: draws; columns: options)."""
    nb = np.asarray(net_benefit, dtype=float)
    if nb.ndim != 2 or nb.shape[1] < 2 or nb.shape[0] < 1:
        raise VOIError("EVPI needs a draws x options table with at least two options")
    return float(max(nb.max(axis=1).mean() - nb.mean(axis=0).max(), 0.0))


def _spline_basis(x: np.ndarray, knots: int) -> tuple[np.ndarray, np.ndarray]:
    """Truncated-power cubic basis of one parameter scaled to [0, 1]: ``x, x^2, x^3`` and
    ``(x - k_j)^3_+`` at ``knots`` interior quantiles; and which columns are penalised (all
    but the linear term: a heavy penalty shrinks the fit to a straight line)."""
    lo, hi = float(x.min()), float(x.max())
    z = (x - lo) / (hi - lo)
    cols = [z, z**2, z**3]
    if knots > 0:
        ks = np.unique(np.quantile(z, np.linspace(0, 1, knots + 2)[1:-1]))
        cols += [np.clip(z - k, 0.0, None) ** 3 for k in ks]
    basis = np.column_stack(cols)
    penalised = np.r_[0.0, np.ones(basis.shape[1] - 1)]
    return basis, penalised


def fit_additive(x: np.ndarray, y: np.ndarray, knots: int | None = None) -> np.ndarray:
    """Fitted values of ``y`` (n x m) from an additive penalised cubic spline in the columns
    of ``x`` (n x k): intercept and cubic polynomial per parameter unpenalised, knot terms
    under a ridge penalty chosen per output column by generalised cross-validation
    (Wood, *Generalized Additive Models*, 2nd ed., 2017, ch. 4-5). Constant columns of ``x``
    are ignored; fitted means equal the means of ``y`` (unpenalised intercept)."""
    x = np.asarray(x, dtype=float).reshape(len(x), -1)
    y = np.asarray(y, dtype=float).reshape(len(y), -1)
    n = len(y)
    keep = [j for j in range(x.shape[1]) if np.ptp(x[:, j]) > 0]
    if not keep or n < 5:
        return np.repeat(y.mean(axis=0, keepdims=True), n, axis=0)
    if knots is None:
        knots = int(np.clip(n // 25, 0, 8))
    # the basis must stay well below n: fewer knots for large groups or few draws
    while knots > 0 and 1 + len(keep) * (3 + knots) > n // 2:
        knots -= 1
    blocks, pens = zip(*(_spline_basis(x[:, j], knots) for j in keep), strict=True)
    if 1 + 3 * len(keep) > n // 2:  # too few draws for cubics: linear in each parameter
        blocks = tuple(b[:, :1] for b in blocks)
        pens = tuple(p[:1] for p in pens)
    basis = np.column_stack([np.ones(n), *blocks])
    penalty = np.r_[0.0, *pens]
    xtx, xty = basis.T @ basis, basis.T @ y
    scale = np.trace(xtx) / len(xtx)
    jitter = 1e-10 * scale * np.eye(len(xtx))
    best_gcv = np.full(y.shape[1], np.inf)
    fitted = np.repeat(y.mean(axis=0, keepdims=True), n, axis=0)
    lambdas = [0.0] if not penalty.any() else scale * np.logspace(-8, 3, 23)
    for lam in lambdas:
        a = xtx + lam * np.diag(penalty) + jitter
        try:
            coef = np.linalg.solve(a, xty)
            trace = float(np.trace(np.linalg.solve(a, xtx)))
        except np.linalg.LinAlgError:
            continue
        f = basis @ coef
        rss = ((y - f) ** 2).sum(axis=0)
        gcv = n * rss / max(n - trace, 1.0) ** 2
        better = gcv < best_gcv
        fitted[:, better] = f[:, better]
        best_gcv = np.where(better, gcv, best_gcv)
    return fitted


def evppi(net_benefit: np.ndarray, parameters: np.ndarray, knots: int | None = None) -> float:
    """EVPPI of ``parameters`` (n x k: one row per draw) by regression (Strong, Oakley &
    Brennan 2014): the net benefit of each option minus that of the first is fitted by
    :func:`fit_additive`; EVPPI ``= mean(max_d fitted_d) - max_d mean(fitted_d)``."""
    nb = np.asarray(net_benefit, dtype=float)
    if nb.ndim != 2 or nb.shape[1] < 2:
        raise VOIError("EVPPI needs a draws x options table with at least two options")
    inc = nb[:, 1:] - nb[:, :1]
    fitted = np.column_stack([np.zeros(len(nb)), fit_additive(parameters, inc, knots)])
    return float(max(fitted.max(axis=1).mean() - fitted.mean(axis=0).max(), 0.0))


# --------------------------------------------------------------------------- from results


def parameter_table(draws: pd.DataFrame) -> pd.DataFrame:
    """Replication x parameter table of the draws (``replication, scenario, parameter,
    value``). With common random numbers every scenario of a replication holds the same
    value of a parameter and it is one column; a parameter whose value differs between
    scenarios gets one column per scenario (``parameter [scenario]``)."""
    if draws is None or not len(draws):
        return pd.DataFrame()
    d = draws.astype({"scenario": str, "parameter": str})
    spread = d.groupby(["replication", "parameter"])["value"].agg(lambda v: np.ptp(v.to_numpy()))
    differs = set(spread[spread > 1e-12 * (1 + spread.abs())].index.get_level_values(1))
    shared = d[~d["parameter"].isin(differs)].groupby(["replication", "parameter"])[
        "value"].first().unstack("parameter")
    own = d[d["parameter"].isin(differs)]
    if len(own):
        own = own.assign(parameter=own["parameter"] + " [" + own["scenario"] + "]")
        shared = shared.join(own.groupby(["replication", "parameter"])["value"].first()
                             .unstack("parameter"), how="outer")
    shared.columns = [str(c) for c in shared.columns]
    return shared.sort_index()


def provider_entities(results: pd.DataFrame) -> list[str]:
    """The entities with a ``margin_usd`` (the providers whose decision is valued)."""
    rows = results.loc[results["metric"] == "margin_usd", "entity"]
    return [str(e) for e in dict.fromkeys(rows)]


def _resolve_groups(groups: Mapping[str, Sequence[str]] | None,
                    parameters: Sequence[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, members in (groups or {}).items():
        members = list(members)
        unknown = [m for m in members if m not in parameters]
        if unknown or not members:
            raise VOIError(f"group {name!r}: unknown parameter(s) {unknown or members}; the "
                           f"draws have {list(parameters)}")
        out[str(name)] = members
    if len(parameters) > 1:
        out.setdefault(ALL_PARAMETERS, list(parameters))
    return out


def voi_table(
    results: pd.DataFrame,
    draws: pd.DataFrame,
    *,
    wtp: Sequence[float] = DEFAULT_WTP,
    discount_rate: float = DEFAULT_DISCOUNT_RATE,
    perspective: str = "health_sector",
    groups: Mapping[str, Sequence[str]] | None = None,
    population_size: float | None = None,
    population: float | None = None,
    reference: str | None = None,
) -> pd.DataFrame:
    """EVPI and EVPPI (per parameter and per group, plus ``all parameters``) of the payer's
    decision at each ``wtp`` and of each provider's decision (see the module doc).

    One row per decision, entity (``population`` for the payer), willingness-to-pay (NaN for
    providers), ``measure`` (``EVPI`` or ``EVPPI``) and ``parameters`` (a parameter path or
    group name; ``""`` for EVPI): ``value_usd`` for the simulated population,
    ``per_person_usd`` (divided by ``population_size``) and ``population_usd`` (per person
    x ``population``). Raises :class:`VOIError` without draws or with one scenario."""
    scenarios = [str(s) for s in pd.unique(results["scenario"].astype(str))]
    if len(scenarios) < 2:
        raise VOIError(f"value of information needs a decision between at least two "
                       f"scenarios; the results hold only {scenarios}")
    params = parameter_table(draws)
    if params.empty:
        raise VOIError("the results have no parameter draws (no draws.parquet, or nothing "
                       "uncertain): value of information needs a comparison run with an "
                       "'uncertainty:' block and parameter uncertainty on")
    params = params.loc[:, [c for c in params.columns if np.ptp(params[c].to_numpy()) > 0]]
    if params.empty:
        raise VOIError("every parameter draw has the same value: nothing is uncertain")
    reference = reference if reference in scenarios else scenarios[0]
    order = [reference, *[s for s in scenarios if s != reference]]
    named = _resolve_groups(groups, list(params.columns))
    decisions: list[tuple[str, str, float, pd.DataFrame]] = []
    cost = plan_values(results, "population", cost_metric(results, perspective), discount_rate)
    metrics = set(results["metric"].astype(str).unique())
    if not cost.empty and ({"qalys", "cohort_qalys"} & metrics):
        qalys = health_outcome(results, discount_rate)
        for w in sorted({float(x) for x in wtp}):
            decisions.append(("payer", "population", w, w * qalys[order] - cost[order]))
    for entity in provider_entities(results):
        margin = plan_values(results, entity, "margin_usd", discount_rate)
        if set(order) <= set(margin.columns):
            decisions.append(("provider", entity, np.nan, margin[order]))
    if not decisions:
        raise VOIError("the results have neither QALYs and costs (payer) nor margins "
                       "(providers): no decision to value")
    rows = []
    for decision, entity, w, nb in decisions:
        both = nb.join(params, how="inner").dropna()
        values = both[order].to_numpy()
        x = both[list(params.columns)]
        n = len(both)
        if n < 2:
            raise VOIError("fewer than two replications have both net benefits and draws")
        found = [("EVPI", "", evpi(values))]
        found += [("EVPPI", p, evppi(values, x[[p]].to_numpy())) for p in params.columns]
        found += [("EVPPI", g, evppi(values, x[m].to_numpy())) for g, m in named.items()]
        for measure, what, value in found:
            per = value / population_size if population_size else np.nan
            rows.append({"decision": decision, "entity": entity, "wtp_usd_per_qaly": w,
                         "measure": measure, "parameters": what, "value_usd": value,
                         "per_person_usd": per,
                         "population_usd": per * population if population else np.nan,
                         "replications": n})
    return pd.DataFrame(rows, columns=list(VOI_COLUMNS))


# --------------------------------------------------------------------------- a results directory


def _saved_scenario(path: Path, scenario: str) -> dict:
    """The saved (resolved) scenario ``scenario`` of a results directory ({} if none)."""
    import yaml

    from sim.results import layout

    for f in (path / layout.scenario_file(scenario), path / layout.SCENARIO_YAML):
        if f.is_file():
            try:
                data = yaml.safe_load(f.read_text(encoding="utf-8"))
            except (OSError, yaml.YAMLError):
                return {}
            return data if isinstance(data, dict) else {}
    return {}


def _setting(data: dict, *keys: str) -> object:
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def voi_from_dir(path: str | os.PathLike[str], **kwargs: object) -> pd.DataFrame:
    """:func:`voi_table` of a results directory (``results.parquet`` and ``draws.parquet``;
    the population size from its saved scenario; the reference, discount rate, WTP and
    perspective from the manifest or saved scenario unless given)."""
    from sim.results import layout

    p = Path(path)
    if not p.is_dir():
        raise VOIError(f"{path}: not a results directory")
    if layout.results_file(p) is None:
        raise VOIError(f"{path}: no {layout.RESULTS_PARQUET} or {layout.RESULTS_CSV}: not a "
                       "finished results directory")
    file = layout.results_file(p)
    results = pd.read_parquet(file) if file.suffix == ".parquet" else pd.read_csv(file)
    results = results.astype({c: str for c in ("scenario", "entity", "metric")})
    draws_file = p / layout.DRAWS_PARQUET
    if not draws_file.is_file():
        raise VOIError(f"{path}: no {layout.DRAWS_PARQUET}: the run had no uncertain "
                       "parameters; value of information needs a comparison run with an "
                       "'uncertainty:' block and parameter uncertainty on")
    draws = pd.read_parquet(draws_file)
    manifest = layout.read_manifest_if_any(p) or {}
    scenarios = [str(s) for s in pd.unique(results["scenario"])]
    reference = kwargs.get("reference") or manifest.get("reference")
    reference = reference if reference in scenarios else (scenarios or [None])[0]
    kwargs["reference"] = reference
    saved = _saved_scenario(p, str(reference))
    size = _setting(saved, "population", "size")
    kwargs.setdefault("population_size", float(size) if isinstance(size, int | float) else None)
    rate = _setting(saved, "economics", "discount_rate")
    if isinstance(rate, int | float):
        kwargs.setdefault("discount_rate", float(rate))
    perspective = _setting(saved, "economics", "perspective")
    if isinstance(perspective, str):
        kwargs.setdefault("perspective", perspective)
    return voi_table(results, draws, **kwargs)  # type: ignore[arg-type]


def format_voi(table: pd.DataFrame) -> str:
    """The table in words: per decision, the EVPI of the parameters (the EVPPI of all of
    them, the number to quote; docs/voi.md) with the sample EVPI beside it, and the largest
    EVPPIs, marked where they cannot be read as they are: ``*`` below the regression's
    noise floor (about ``2 EVPI / sqrt(n)`` of the larger of the two EVPIs: read as zero),
    ``!`` above the EVPI of the
    parameters (a regression error, in this fit or in that of all parameters); fewer than
    ``STABLE_REPLICATIONS`` replications are called rough."""
    lines = []
    per = table["per_person_usd"].notna().all()
    col, unit = ("per_person_usd", "USD per person") if per else ("value_usd", "USD")
    n = int(table["replications"].iloc[0]) if len(table) else 0
    marks: set[str] = set()
    for (decision, entity), part in table.groupby(["decision", "entity"], sort=False):
        who = "payer (net monetary benefit)" if decision == "payer" else f"provider {entity} " \
            "(margin)"
        lines.append(f"Value of information, {who}, {unit}, {n} replications:")
        for w, at in part.groupby("wtp_usd_per_qaly", dropna=False, sort=False):
            head = f"  WTP {w:,.0f}/QALY: " if decision == "payer" else "  "
            sample = float(at.loc[at["measure"] == "EVPI", col].iloc[0])
            ev = at[at["measure"] == "EVPPI"]
            alone = ev[ev["parameters"] != ALL_PARAMETERS].sort_values(col, ascending=False)
            total = ev.loc[ev["parameters"] == ALL_PARAMETERS, col]
            # one uncertain parameter: it is all of them
            value = float(total.iloc[0]) if len(total) else float(alone[col].max())
            # the fits' noise: of the net benefits' simulation noise as much as of the
            # parameters, so from the larger EVPI (the sample one counts that noise)
            floor = 2.0 * max(value, sample, 0.0) / np.sqrt(max(n, 1))
            shown = []
            for r in alone.head(3).itertuples():
                v = float(getattr(r, col))
                # above the EVPI by more than the printed precision (0.005) and rounding
                above = v > value * 1.0001 and v - value >= 0.005
                mark = "!" if above and v >= floor else "*" if v < floor else ""
                marks.add(mark)
                shown.append(f"{r.parameters} {v:,.2f}{mark}")
            lines.append(head + f"EVPI {value:,.2f} (sample {sample:,.2f}); EVPPI "
                         + (", ".join(shown) if shown else "none"))
    lines.append("EVPI: the EVPPI of all parameters, the number to quote (the sample EVPI "
                 "also counts simulation noise as if it could be learnt).")
    if "*" in marks:
        lines.append("*: below the noise floor, about 2 x EVPI / sqrt(n) (the larger of the "
                     "two EVPIs): read as zero.")
    if "!" in marks:
        lines.append("!: above the EVPI, which no EVPPI can be: a regression error (this "
                     "parameter's fit took noise for signal, or the fit of all parameters "
                     "together missed a nonlinear effect); more replications settle which.")
    if 0 < n < STABLE_REPLICATIONS:
        lines.append(f"Only {n} replications: EVPPIs by regression are rough and biased "
                     f"upward below several hundred (Strong et al. 2014 used 1,000-10,000 "
                     f"PSA samples); rerun with --replications {STABLE_REPLICATIONS * 5} "
                     "or more before acting on them (docs/voi.md).")
    return "\n".join(lines)


__all__ = ["ALL_PARAMETERS", "STABLE_REPLICATIONS", "VOIError", "VOI_COLUMNS", "evpi", "evppi",
           "fit_additive", "format_voi", "parameter_table", "provider_entities", "voi_from_dir", "voi_table"]
