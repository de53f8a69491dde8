"""Which rows the console shows: the key metrics by default, everything with ``full``,
never rows that say nothing.

A row (a metric of an entity of a scenario) is left out of the printed view when it is:

* not a key metric (:func:`sim.catalogue.key_metrics`), unless ``full`` (metrics the
  catalogue does not declare, e.g. a custom replication's outputs, are always shown);
* 0 in every replication and year (a flow the entity does not have: capitation revenue
  under fee-for-service, the settlement of a provider without a contract);
* the quality score of an entity without attributed patients (it carries the
  population's score, not one of its own);
* the same, replication by replication and year by year, as the population's row of the
  same metric (a single payer's spending is the population's).

Every row stays in the results table; :func:`console_view` says what it left out.
"""

from __future__ import annotations

import pandas as pd

from sim.catalogue import is_known, key_metrics

KEYS = ["scenario", "entity", "metric"]


def hidden_rows(results: pd.DataFrame) -> dict[str, set[tuple[str, str, str]]]:
    """The (scenario, entity, metric) rows that say nothing, by reason: ``"zero"``,
    ``"no own quality score"``, ``"same as population"`` (see the module doc)."""
    r = results[[*KEYS, "replication", "year", "value"]]
    zero = r.assign(z=r["value"] == 0).groupby(KEYS, sort=False, observed=True)["z"].all()
    out: dict[str, set[tuple[str, str, str]]] = {
        "zero": {tuple(k) for k in zero[zero].index}}  # type: ignore[misc]

    attributed = r[r["metric"] == "attributed_person_years"]
    has_own = attributed.groupby(["scenario", "entity"], observed=True)["value"].apply(
        lambda v: bool((v > 0).any()))
    scored = r.loc[r["metric"] == "quality_score", ["scenario", "entity"]].drop_duplicates()
    out["no own quality score"] = {
        (s, e, "quality_score") for s, e in scored.itertuples(index=False)
        if not has_own.get((s, e), False)}

    ids = ["scenario", "metric", "replication", "year"]
    pop = r[r["entity"] == "population"].drop(columns="entity")
    other = r[r["entity"] != "population"]
    both = other.merge(pop, on=ids, how="left", suffixes=("", "_pop"))
    same = (both["value"] == both["value_pop"]).groupby(
        [both[k] for k in KEYS], sort=False, observed=True).all()
    out["same as population"] = {tuple(k) for k in same[same].index}  # type: ignore[misc]
    return out


def console_view(results: pd.DataFrame, summary: pd.DataFrame, *, full: bool = False,
                 ) -> tuple[pd.DataFrame, list[str]]:
    """The rows of ``summary`` (a :func:`sim.results.summarise` result of ``results``) the
    console shows, and notes saying what was left out and where it is."""
    hidden = hidden_rows(results)
    keys = list(summary[KEYS].itertuples(index=False, name=None))
    gone = set().union(*hidden.values())
    keep = [k not in gone for k in keys]
    if not full:
        key = set(key_metrics())
        keep = [k and (m in key or not is_known(m))
                for k, (_, _, m) in zip(keep, keys, strict=True)]
    view = summary[keep].reset_index(drop=True)
    notes = []
    said = []
    if hidden["zero"]:
        said.append(f"{len(hidden['zero'])} row(s) that are 0 in every replication and year")
    if hidden["no own quality score"]:
        said.append("the quality scores of providers without attributed patients (the "
                    "population's)")
    if hidden["same as population"]:
        entities = sorted({e for _, e, _ in hidden["same as population"]})
        said.append(f"rows of {', '.join(entities)} identical to the population's")
    if not full:
        notes.append("Key metrics; `--full` (or format_summary(full=True)) shows every "
                     "metric; every value is in results.csv.")
    if said:
        notes.append("Not shown: " + "; ".join(said) + ".")
    return view, notes


def drop_hidden(table: pd.DataFrame, results: pd.DataFrame) -> pd.DataFrame:
    """``table`` (with scenario, entity and metric columns, e.g. paired differences)
    without the rows :func:`hidden_rows` finds in every scenario of ``results``: a row left
    out for the reference and each compared scenario alike."""
    hidden = set().union(*hidden_rows(results).values())
    scenarios = list(pd.unique(results["scenario"]))

    def shown(entity: str, metric: str) -> bool:
        return not all((s, entity, metric) in hidden for s in scenarios)

    mask = [shown(e, m) for e, m in zip(table["entity"], table["metric"], strict=True)]
    return table[mask].reset_index(drop=True)


__all__ = ["console_view", "drop_hidden", "hidden_rows"]
