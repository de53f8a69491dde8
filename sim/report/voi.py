"""The report's value-of-information paragraph (docs/voi.md): shown in the
cost-effectiveness section when the results directory holds parameter draws and two or more
scenarios."""

from __future__ import annotations

from html import escape

import pandas as pd

from sim.report.inputs import ReportInputs
from sim.results import layout
from sim.voi import ALL_PARAMETERS, VOIError, voi_from_dir


def voi_of(inputs: ReportInputs) -> pd.DataFrame:
    """The payer's value-of-information rows (:func:`sim.voi.voi_from_dir`) when one source
    holds every scenario of the report and its parameter draws; else an empty table."""
    sources = [s for s in inputs.sources if set(inputs.scenarios) <= set(s.scenarios)]
    if len(inputs.scenarios) < 2 or not sources or any(s.renamed for s in sources):
        return pd.DataFrame()
    path = sources[0].path
    if not (path / layout.DRAWS_PARQUET).is_file():
        return pd.DataFrame()
    try:
        table = voi_from_dir(path, reference=inputs.reference,
                             discount_rate=inputs.discount_rate)
    except VOIError:
        return pd.DataFrame()
    return table[table["decision"] == "payer"]


def render_voi(inputs: ReportInputs) -> str:
    """A short table: per willingness to pay, the EVPI of all uncertain parameters per person,
    and the parameter worth most to learn (empty string when the results have no draws)."""
    table = voi_of(inputs)
    if table.empty:
        return ""
    col = "per_person_usd" if table["per_person_usd"].notna().all() else "value_usd"
    unit = "per person" if col == "per_person_usd" else "for the simulated population"
    rows = []
    for w, part in table.groupby("wtp_usd_per_qaly", sort=True):
        ev = part[part["measure"] == "EVPPI"]
        alone = ev[ev["parameters"] != ALL_PARAMETERS].sort_values(col, ascending=False)
        total = ev.loc[ev["parameters"] == ALL_PARAMETERS, col]
        if total.empty:  # one uncertain parameter: it is all of them
            total = alone[col].head(1)
        top = alone.iloc[0] if len(alone) else None
        rows.append(f"<tr><th scope=\"row\">${w:,.0f}/QALY</th>"
                    f"<td data-voi=\"evpi\">${float(total.iloc[0]):,.2f}</td><td>"
                    + (f"{escape(str(top['parameters']))} (${float(top[col]):,.2f})"
                       if top is not None else "") + "</td></tr>")
    n = int(table["replications"].iloc[0])
    return ("<h3 id=\"voi\">Value of more information</h3><div class=\"scroll\">"
            "<table class=\"key\" id=\"voi-table\"><thead><tr><th scope=\"col\">Willingness "
            f"to pay</th><th scope=\"col\">Value of knowing every uncertain parameter "
            f"({unit})</th><th scope=\"col\">Parameter worth most to know</th></tr></thead>"
            "<tbody>" + "".join(rows) + "</tbody></table></div>"
            "<p class=\"note\">The expected gain in net monetary benefit from choosing the "
            "plan after learning the uncertain parameters exactly, instead of now (EVPPI by "
            f"regression on the {n} replications' parameter draws, Strong, Oakley & Brennan "
            "2014; docs/voi.md; vbcsim voi gives every parameter and the providers' "
            "decisions). Near zero: more evidence would not change the choice."
            + (f" With {n} replications these are rough: several hundred are needed for "
               "stable values." if n < 200 else "") + "</p>")


__all__ = ["render_voi", "voi_of"]
