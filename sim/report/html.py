"""Render a report as one self-contained HTML page (inline CSS, images as data URIs).

A Content-Security-Policy in the page forbids every network request, so the page shows the
same offline as online, and a stray external reference could not load even if one slipped
in. Key table cells carry ``data-scenario``, ``data-entity``, ``data-metric``, ``data-stat``
and ``data-value`` (the full-precision number) so that they can be traced to the results.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape

import pandas as pd

from sim.catalogue import metric_label
from sim.comparison import icer_text
from sim.plots._common import parameter_label, scenario_colours
from sim.plots.sensitivity import short_number
from sim.report.charts import Chart
from sim.report.inputs import ReportInputs, Sensitivity
from sim.report.jargon import Jargon
from sim.report.numbers import Row, Summary, clear_rule, fmt_money, fmt_value
from sim.report.plans import plans

CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
       "script-src 'unsafe-inline'")

CSS = """
:root { --ink: #1d2733; --muted: #5b6673; --rule: #d9dee4; --band: #f4f6f8;
        --better: #0b7a55; --worse: #b03a2e; --accent: #0072B2; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; color: var(--ink); background: #fff;
       font: 15px/1.55 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
             "Liberation Sans", sans-serif; }
main { max-width: 1000px; margin: 0 auto; padding: 28px 28px 60px; }
header.top { border-bottom: 3px solid var(--accent); margin-bottom: 20px; padding-bottom: 10px; }
h1 { font-size: 27px; line-height: 1.2; margin: 0 0 6px; }
h2 { font-size: 20px; margin: 34px 0 10px; padding-bottom: 4px;
     border-bottom: 1px solid var(--rule); }
h3 { font-size: 16px; margin: 24px 0 6px; }
.meta { color: var(--muted); font-size: 13px; margin: 0; }
nav.toc { font-size: 13px; color: var(--muted); margin: 8px 0 0; }
nav.toc a { color: var(--accent); text-decoration: none; margin-right: 12px; }
section.summary { background: var(--band); border-left: 4px solid var(--accent);
                  padding: 6px 20px; border-radius: 4px; }
section.summary h2 { margin-top: 12px; }
section.summary h3 { margin: 14px 0 4px; font-size: 15px; }
section.summary ul { margin: 4px 0 8px; padding-left: 22px; }
section.summary li { margin: 4px 0; }
section.summary p { margin: 10px 0; }
section.summary p.how { color: var(--muted); font-size: 13.5px; }
.chip { display: inline-block; width: 10px; height: 10px; border-radius: 2px;
        margin-right: 6px; vertical-align: baseline; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 13.5px; }
table.key th, table.key td { padding: 6px 10px; border-bottom: 1px solid var(--rule);
                             vertical-align: top; }
table.key thead th { text-align: right; font-size: 13px; border-bottom: 2px solid var(--ink);
                     white-space: nowrap; }
table.key thead th:first-child { text-align: left; }
table.key tbody th { text-align: left; font-weight: 600; }
table.key tr.group th { background: var(--band); font-size: 12.5px; text-transform: uppercase;
                        letter-spacing: .03em; color: var(--muted); padding-top: 10px; }
table.key td { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.unit { display: block; font-weight: 400; color: var(--muted); font-size: 12px; }
.v { display: block; font-weight: 600; font-size: 14.5px; }
.ci { display: block; color: var(--muted); font-size: 11.5px; }
.d { display: block; font-size: 12px; color: var(--muted); }
.d.better { color: var(--better); font-weight: 600; }
.d.worse { color: var(--worse); font-weight: 600; }
.ref-tag { font-weight: 400; color: var(--muted); font-size: 11px; display: block; }
p.note { color: var(--muted); font-size: 12.5px; margin: 6px 0 0; }
figure.chart { margin: 22px 0; padding: 12px; border: 1px solid var(--rule); border-radius: 6px;
               break-inside: avoid; page-break-inside: avoid; }
figure.chart img { display: block; width: 100%; max-width: 900px; height: auto; margin: 0 auto; }
figcaption { font-size: 13.5px; color: var(--ink); margin-top: 8px; }
figcaption strong { color: var(--accent); }
dl.defs dt { font-weight: 600; margin-top: 8px; }
dl.defs dd { margin: 2px 0 0 0; color: var(--muted); font-size: 13.5px; }
table.sources td, table.sources th { padding: 5px 8px; border-bottom: 1px solid var(--rule);
                                     text-align: left; vertical-align: top; font-size: 12.5px; }
pre.cmd { white-space: pre-wrap; word-break: break-word; background: var(--band);
          padding: 8px 10px; border-radius: 4px; font-size: 12px; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px;
       background: var(--band); padding: 1px 4px; border-radius: 3px; }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; border-top: 1px solid var(--rule);
         padding-top: 10px; }
@media print { main { max-width: none; padding: 0; } nav.toc { display: none; } }
"""

# Records in the page whether every image decoded (read by the browser test; harmless
# without JavaScript).
SELF_CHECK = """
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; });
  document.body.setAttribute('data-images', String(imgs.length));
  document.body.setAttribute('data-images-rendered', String(ok.length));
});
"""

SECTIONS = (("spending", "Payer spending"), ("margin", "Provider margin and financial risk"),
            ("outcomes", "Outcomes"), ("value", "Cost-effectiveness"),
            ("assumptions", "Assumptions that matter most"))


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _data_value(v: float) -> str:
    return repr(float(v)) if math.isfinite(v) else "nan"


def render_table(rows: Sequence[Row], inputs: ReportInputs) -> str:
    colours = scenario_colours(inputs.scenarios)
    head = ["<th scope=\"col\">Measure</th>"]
    for s in inputs.scenarios:
        tag = "<span class=\"ref-tag\">reference</span>" if (
            s == inputs.reference and len(inputs.scenarios) > 1) else ""
        head.append(f"<th scope=\"col\" data-scenario=\"{_e(s)}\"><span class=\"chip\" "
                    f"style=\"background:{colours[s]}\"></span>{_e(s)}{tag}</th>")
    out = ["<div class=\"scroll\"><table class=\"key\" id=\"key-table\">",
           "<thead><tr>" + "".join(head) + "</tr></thead><tbody>"]
    group = None
    for row in rows:
        if row.group != group:
            group = row.group
            out.append(f"<tr class=\"group\"><th colspan=\"{len(inputs.scenarios) + 1}\">"
                       f"{_e(group)}</th></tr>")
        cells = [f"<th scope=\"row\">{_e(row.label)}<span class=\"unit\">{_e(row.unit)}"
                 "</span></th>"]
        for c in row.cells:
            parts = [f"<span class=\"v\">{_e(c.text)}</span>"]
            if c.interval:
                parts.append(f"<span class=\"ci\">{_e(c.interval)}</span>")
            if c.delta:
                cls = f"d {c.verdict}".strip()
                parts.append(f"<span class=\"{cls}\">{_e(c.delta)} vs "
                             f"{_e(inputs.reference)}</span>")
            cells.append(f"<td data-scenario=\"{_e(c.scenario)}\" data-entity=\"{_e(row.entity)}\" "
                         f"data-metric=\"{_e(row.metric)}\" data-stat=\"{_e(row.stat)}\" "
                         f"data-value=\"{_data_value(c.value)}\">{''.join(parts)}</td>")
        out.append(f"<tr>{''.join(cells)}</tr>")
    out.append("</tbody></table></div>")
    compared = len(inputs.scenarios) > 1
    out.append(
        "<p class=\"note\">Bold: mean across replications of each replication's average over "
        "the plan years (risk rows: over the whole plan). Grey: 95% interval across "
        "replications (2.5th to 97.5th percentile)."
        + (f" Under it: the difference from {_e(inputs.reference)}: dollars and percent for "
           "money, percent for use of care and QALYs, percentage points for rates and shares, "
           "points for the quality score (the figures use the same units), green when clearly "
           "better, red when clearly worse, grey otherwise. "
           + _e(clear_rule(inputs.reference, inputs.paired)) if compared else "") + "</p>")
    return "\n".join(out)


def render_figure(chart: Chart, number: int, jargon: Jargon | None = None) -> str:
    caption = jargon.explain(chart.caption) if jargon else chart.caption
    return (f"<figure class=\"chart\" id=\"{_e(chart.id)}\">"
            f"<img src=\"{chart.data_uri}\" alt=\"{_e(chart.alt)}\">"
            f"<figcaption><strong>Figure {number}.</strong> {_e(caption)}"
            "</figcaption></figure>")


def render_plans(inputs: ReportInputs, jargon: Jargon) -> str:
    """Each plan's description and a timeline of the contracts in force by plan year."""
    items = plans(inputs)
    if not any(p.description or p.years for p in items):
        return ""
    colours = scenario_colours(inputs.scenarios)
    out = ["<section id=\"plans\"><h2>The plans compared</h2><dl class=\"defs\">"]
    for p in items:
        ref = " (the reference)" if p.scenario == inputs.reference and len(items) > 1 else ""
        text = p.description or "(the scenario file has no description)"
        out.append(f"<dt><span class=\"chip\" style=\"background:{colours[p.scenario]}\">"
                   f"</span>{_e(p.scenario)}{_e(ref)}</dt><dd>{_e(jargon.explain(text))}</dd>")
    out.append("</dl>")
    if any(p.years for p in items):
        years = inputs.years
        head = "".join(f"<th scope=\"col\">Plan year {y}</th>" for y in years)
        out.append("<h3>Contracts by plan year</h3><div class=\"scroll\"><table "
                   "class=\"sources\" id=\"timeline\"><thead><tr><th scope=\"col\">Plan</th>"
                   + head + "</tr></thead><tbody>")
        for p in items:
            cells = []
            k = 0
            while k < len(years):  # years with the same contracts share one cell
                j = k
                while j + 1 < len(years) and p.years.get(years[j + 1]) == p.years.get(years[k]):
                    j += 1
                words = p.years.get(years[k], "not saved")
                cells.append(f"<td colspan=\"{j - k + 1}\" data-years=\"{years[k]}-"
                             f"{years[j]}\">{_e(jargon.explain(words))}</td>")
                k = j + 1
            out.append(f"<tr><th scope=\"row\">{_e(p.scenario)}</th>{''.join(cells)}</tr>")
        out.append("</tbody></table></div>")
    out.append("</section>")
    return "".join(out)


def _no_sensitivity(sensitivity: Sequence[Sensitivity], inputs: ReportInputs) -> str:
    if sensitivity:
        return ""
    others = [s for s in inputs.scenarios if s != inputs.reference] or list(inputs.scenarios)
    name = others[0]
    metric = ("payer_spend_per_capita_usd" if (inputs.results["metric"]
                                               == "payer_spend_per_capita_usd").any()
              else "spend_per_capita_usd")
    return ("<p id=\"no-sensitivity\">No sensitivity analysis was run for these results, so "
            "this report cannot say which assumptions drive them. To find out, run a one-way "
            f"analysis of the output that matters, for example for {_e(name)}</p>"
            "<pre class=\"cmd\"><code>"
            f"vbcsim sensitivity {_e(name)} --metric {metric} \\\n    --tornado "
            "clinical.admissions.rate_per_year=0.12:0.18 prices.admission_mean_usd=11000:15000 "
            "\\\n    --out results/sensitivity</code></pre><p>(or <code>--sobol 64</code> for "
            "uncertain parameters declared with distributions), then add "
            "<code>results/sensitivity</code> to the directories given to "
            "<code>vbcsim report</code>.</p>")


def _top_assumptions(sensitivity: Sequence[Sensitivity]) -> str:
    items = []
    for sens in sensitivity:
        t = sens.table
        on = f" ({_e(sens.scenario)})" if sens.scenario else ""
        if sens.kind == "tornado" and {"parameter", "metric_low", "metric_high"} <= set(t):
            t = t.assign(swing=(t["metric_high"] - t["metric_low"]).abs()).sort_values(
                "swing", ascending=False)
            metric = str(t["metric"].iloc[0]) if "metric" in t else "output"
            what = metric_label(metric).lower() if metric != "output" else "the output"
            for r in t.head(3).itertuples():
                items.append(
                    f"<li>{_e(parameter_label(r.parameter))} (<code>{_e(r.parameter)}</code>) "
                    f"from {_e(short_number(r.low_value))} to "
                    f"{_e(short_number(r.high_value))}: {_e(what)}{on} moves from "
                    f"{_e(fmt_value(metric, r.metric_low))} to "
                    f"{_e(fmt_value(metric, r.metric_high))}</li>")
        elif sens.kind == "sobol" and {"parameter", "ST"} <= set(t):
            for r in t.sort_values("ST", ascending=False).head(3).itertuples():
                items.append(f"<li>{_e(parameter_label(r.parameter))} (<code>"
                             f"{_e(r.parameter)}</code>){on}: {100 * r.ST:.0f}% of the "
                             f"variance with its interactions (alone: {100 * r.S1:.0f}%)</li>")
    if not items:
        return ""
    return "<p>The assumptions with the largest effect:</p><ul>" + "".join(items) + "</ul>"


def render_value(value: pd.DataFrame, inputs: ReportInputs, jargon: Jargon | None = None
                 ) -> str:
    """The cost-effectiveness table: per scenario, the discounted plan-total differences from
    the reference, where the mean falls and the ICER in words (dominant and dominated are
    said, never shown as a negative ICER), and P(NMB > 0) at each willingness to pay."""
    if value.empty:
        return ""
    ref = inputs.reference
    wtp = [c for c in value.columns if c.startswith("p_nmb_positive_")]
    health_sector = "perspective" in value and (value["perspective"] == "health_sector").all()
    cost = "Health-sector cost" if health_sector else "Payer spending"  # issue 11
    head = ["Scenario", f"{cost} vs {ref}", f"QALYs vs {ref}", "ICER"] + [
        f"P(worth it at {fmt_money(float(c.rsplit('_', 1)[1]))}/QALY)" for c in wtp]
    if jargon is not None:
        head = [jargon.explain(h) for h in head]
    out = ["<div class=\"scroll\"><table class=\"key\" id=\"value-table\"><thead><tr>"
           + "".join(f"<th scope=\"col\">{_e(h)}</th>" for h in head) + "</tr></thead><tbody>"]
    for r in value.to_dict("records"):
        cells = [f"<th scope=\"row\">{_e(r['scenario'])}</th>",
                 f"<td data-ce=\"d_cost_usd\" data-value=\"{_data_value(r['d_cost_usd'])}\">"
                 f"{_e(fmt_money(r['d_cost_usd']))}</td>",
                 f"<td data-ce=\"d_qalys\" data-value=\"{_data_value(r['d_qalys'])}\">"
                 f"{r['d_qalys']:+,.2f}</td>",
                 f"<td data-ce=\"icer_usd_per_qaly\" data-quadrant=\"{_e(r['quadrant'])}\" "
                 f"data-dominance=\"{_e(r['dominance'])}\" "
                 f"data-value=\"{_data_value(r['icer_usd_per_qaly'])}\">"
                 f"{_e(icer_text(r['d_cost_usd'], r['d_qalys']))}</td>"]
        cells += [f"<td data-ce=\"{_e(c)}\" data-value=\"{_data_value(r[c])}\">"
                  f"{_e(f'{100 * r[c]:.0f}%')}</td>" for c in wtp]
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table></div>")
    if "outcome" in value:  # issue 11: say which cost and which QALYs (docs/economics.md)
        payer = "; ".join(f"{_e(r['scenario'])}: {_e(fmt_money(r['d_cost_payer_usd']))}, "
                          f"{_e(r['verdict_payer'])}" for r in value.to_dict("records")
                          if "verdict_payer" in r) if health_sector else ""
        what = ("health sector (care at the payer's prices net of transfers, plus "
                "providers' care-management, transitional-care and investment costs)"
                if health_sector else "payer")
        out.append(
            f"<p class=\"note\" id=\"value-perspective\">Perspective: {_e(what)}; QALYs of "
            f"the {_e(str(value['outcome'].iloc[0]))}."
            + (f" Payer perspective: {payer}." if payer else "") + "</p>")
    out.append(
        "<p class=\"note\">Costs and QALYs summed over the plan, discounted at "
        f"{inputs.discount_rate:.1%} a year, mean difference from {_e(ref)}. The ICER is the "
        "extra cost per QALY gained; a plan that saves money and gains health is "
        "<em>dominant</em>, one that costs more and loses health <em>dominated</em> (no ratio "
        "is shown for either); a plan that saves money and loses health shows the savings per "
        "QALY lost, worth it only if a QALY is valued below that. P(worth it): the share of "
        "replications with a positive net monetary benefit (willingness to pay x QALYs "
        "gained minus extra spending).</p>")
    return "\n".join(out)


def _definitions(inputs: ReportInputs) -> str:
    defs = [
        ("Replication", "One run of the whole simulation with its own random numbers (and, "
         "when parameters are uncertain, its own parameter draw). Spread across replications "
         "is the uncertainty the report shows."),
        ("Mean per plan year", "Each replication's yearly values averaged over the plan years, "
         "then averaged across replications (as in summary.csv)."),
        ("95% interval", "The 2.5th to 97.5th percentile across replications"
         + ("; for a difference between scenarios, of the paired differences (replication by "
            "replication)." if len(inputs.scenarios) > 1 and inputs.paired else ".")),
        ("Margin", "Revenue (fee-for-service, capitation, settlements) minus costs (own "
         "services, claims paid to others, investment, effort of changing practice)."),
        ("Settlement", "The reconciliation between payer and provider (shared savings or "
         "losses, capitation settlements, bundle reconciliations); negative means the "
         "provider owes the payer."),
        ("Probability of a loss", "The share of replications in which the margin summed over "
         "the plan is below zero."),
        ("VaR95 / CVaR95", "VaR95 is the 5th percentile of the plan-total margin: 1 replication "
         "in 20 does worse. CVaR95 is the mean of the replications at or below it. A negative "
         "value is a loss."),
        ("Net present value", f"The margins of the plan years discounted at "
         f"{inputs.discount_rate:.1%} a year to the first plan year, summed."),
    ]
    return "<dl class=\"defs\">" + "".join(f"<dt>{_e(t)}</dt><dd>{_e(d)}</dd>"
                                           for t, d in defs) + "</dl>"


def _sources(inputs: ReportInputs) -> str:
    rows = []
    for s in inputs.sources:
        m = s.manifest
        renamed = "; ".join(f"{a} shown as {b}" for a, b in s.renamed.items())
        rows.append(
            "<tr>" + "".join(f"<td>{v}</td>" for v in (
                f"<code>{_e(s.path)}</code>", _e(", ".join(s.scenarios))
                + (f" ({_e(renamed)})" if renamed else ""),
                _e(m.get("replications", "?")), _e(m.get("seed", "?")),
                _e(m.get("finished_at") or "?"), _e(m.get("vbcsim_version", "?")),
                f"<code title=\"{_e(s.results_sha256)}\">{_e(s.results_file)} "
                f"sha256 {_e(s.results_sha256[:12])}</code>")) + "</tr>")
    head = "".join(f"<th>{h}</th>" for h in ("Directory", "Scenarios", "Replications", "Seed",
                                             "Finished (UTC)", "vbcsim", "Results file"))
    sens = "".join(f"<li><code>{_e(s.path)}</code>"
                   + (f" (scenario {_e(s.scenario)})" if s.scenario else "") + "</li>"
                   for s in inputs.sensitivity)
    return ("<div class=\"scroll\"><table class=\"sources\"><thead><tr>" + head
            + "</tr></thead><tbody>" + "".join(rows) + "</tbody></table></div>"
            + (f"<p>Sensitivity analyses:</p><ul>{sens}</ul>" if sens else ""))


def render_page(
    title: str, inputs: ReportInputs, summary: Summary, rows: Sequence[Row],
    charts: Sequence[Chart], value: pd.DataFrame | None = None, *,
    skipped: Sequence[tuple[str, str]] = (),
) -> str:
    """The whole HTML document (``value``: :func:`sim.report.numbers.value_table`, shown in
    the cost-effectiveness section; ``skipped``: ``(section, why)`` of charts left out
    because they would be empty). Jargon is explained where it first appears
    (:class:`sim.report.jargon.Jargon`), in page order."""
    value = pd.DataFrame() if value is None else value
    jargon = Jargon()
    from sim._version import __version__

    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    numbers = {c.id: i + 1 for i, c in enumerate(charts)}
    notes = {k: [t for sec, t in skipped if sec == k] for k, _ in SECTIONS}
    present = [(k, v) for k, v in SECTIONS
               if k == "assumptions" or any(c.section == k for c in charts)
               or (k == "value" and len(value)) or notes.get(k)]
    body = [f"<header class=\"top\"><h1>{_e(title)}</h1>"
            f"<p class=\"meta\">vbcsim {_e(__version__)} · generated {now} · "
            f"{len(inputs.scenarios)} scenario(s), plan years {inputs.years[0]} to "
            f"{inputs.years[-1]}"
            + (f" · provider: {_e(inputs.provider)}" if inputs.provider else "") + "</p>"
            "<nav class=\"toc\"><a href=\"#summary\">Summary</a>" + "PLANS_LINK"
            + "<a href=\"#table\">Side by side</a>"
            + "".join(f"<a href=\"#{k}\">{_e(v)}</a>" for k, v in present)
            + "<a href=\"#method\">Method and sources</a></nav></header>"]
    paras = [f"<p>{_e(jargon.explain(summary.intro))}</p>"]
    for heading, items in summary.blocks:
        paras.append(f"<h3>{_e(heading)}</h3><ul>"
                     + "".join(f"<li>{_e(jargon.explain(i))}</li>" for i in items) + "</ul>")
    paras.append(f"<p class=\"how\">{_e(jargon.explain(summary.caveat))}</p>")
    body.append("<section class=\"summary\" id=\"summary\"><h2>Summary</h2>"
                + "".join(paras) + "</section>")
    plans_html = render_plans(inputs, jargon)
    body[0] = body[0].replace("PLANS_LINK", "<a href=\"#plans\">The plans</a>"
                              if plans_html else "")
    if plans_html:
        body.append(plans_html)
    body.append("<section id=\"table\"><h2>Side by side</h2>" + render_table(rows, inputs)
                + "</section>")
    from sim.report.revenue_cycle import render_revenue_cycle  # issue 13: coding, denials

    cycle = render_revenue_cycle(inputs)
    if cycle:
        body.append(cycle)
        body[0] = body[0].replace("<a href=\"#table\">Side by side</a>",
                                  "<a href=\"#table\">Side by side</a>"
                                  "<a href=\"#revenue-cycle\">Revenue cycle</a>")
    for key, heading in present:
        figs = [c for c in charts if c.section == key]
        parts = [f"<section id=\"{key}\"><h2>{_e(heading)}</h2>"]
        if key == "assumptions":
            parts.append(_top_assumptions(inputs.sensitivity)
                         + _no_sensitivity(inputs.sensitivity, inputs))
        if key == "value":
            parts.append(render_value(value, inputs, jargon))
            from sim.report.voi import render_voi  # issue 16: only with parameter draws

            parts.append(render_voi(inputs))
            if "fig-ce-plane" in numbers:
                parts.append(
                    f"<p class=\"how-to-read\">How to read the plane (Figure "
                    f"{numbers['fig-ce-plane']}): each dot is one replication, placed by how "
                    f"many more QALYs (right) and how much more payer spending (up) a plan "
                    f"brings than {_e(inputs.reference)}; dots below a dashed "
                    "willingness-to-pay line are worth their cost at that price per QALY, and "
                    "dots in the lower right are dominant (cheaper and healthier).</p>")
        for c in figs:
            parts.append(render_figure(c, numbers[c.id], jargon))
        parts += [f"<p class=\"note skipped\">{_e(t)}</p>" for t in notes.get(key, [])]
        parts.append("</section>")
        body.append("".join(parts))
    pairing = (inputs.pairing[0].upper() + inputs.pairing[1:] + ". "
               if len(inputs.scenarios) > 1 else "")
    body.append("<section id=\"method\"><h2>Method and sources</h2>"
                f"<p>{_e(pairing)}Every number in "
                "this report is computed from the results files below (the table cells carry "
                "their scenario, entity, metric and full-precision value as data attributes)."
                "</p>" + _definitions(inputs) + "<h3>Results used</h3>" + _sources(inputs)
                + "</section>")
    body.append("<footer>Made by <code>vbcsim report</code>; self-contained: opens without a "
                "network connection.</footer>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<meta name=\"generator\" content=\"vbcsim {_e(__version__)}\">"
            f"<title>{_e(title)}</title><style>{CSS}</style></head>\n<body><main>\n"
            + "\n".join(body) + f"\n</main><script>{SELF_CHECK}</script></body></html>\n")


__all__ = ["render_page", "render_plans", "render_table", "render_value"]
