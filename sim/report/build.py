"""``write_report``: one self-contained HTML report from results directories."""

from __future__ import annotations

import os
import secrets
from collections.abc import Sequence
from pathlib import Path

from sim.report.charts import build_charts
from sim.report.html import render_page
from sim.report.inputs import ReportInputs, load_inputs
from sim.report.numbers import key_table, summary, value_table


def default_title(inputs: ReportInputs) -> str:
    names = list(inputs.scenarios)
    if len(names) == 1:
        return f"{names[0]}: results"
    return "Payment plans compared: " + ", ".join(names[:-1]) + f" and {names[-1]}"


def render_report(inputs: ReportInputs, title: str | None = None) -> str:
    """The HTML text of the report on ``inputs`` (see :func:`write_report`)."""
    rows = key_table(inputs)
    skipped: list[tuple[str, str]] = []
    charts = build_charts(inputs, skipped)
    return render_page(title or default_title(inputs), inputs, summary(inputs, rows), rows,
                       charts, value_table(inputs), skipped=skipped)


def write_report(
    result_dirs: Sequence[str | os.PathLike[str]] | str | os.PathLike[str],
    output: str | os.PathLike[str],
    title: str | None = None,
    *,
    reference: str | None = None,
    provider: str | None = None,
    align_horizon: str | None = None,
) -> Path:
    """Write one self-contained HTML report comparing the scenarios in ``result_dirs``.

    ``result_dirs``: results directories written by ``vbcsim run`` (one scenario each) or
    ``vbcsim compare`` / an experiment (several scenarios), and optionally directories
    written by ``vbcsim sensitivity --out`` (their ``tornado.csv``/``sobol.csv`` feed the
    section on the assumptions that matter most; such files inside a results directory or
    its ``sensitivity/`` subdirectory are found too). ``reference``: the scenario the others
    are compared with (default: the experiment's reference, else the first scenario);
    ``provider``: the provider whose margin and risk are shown (default: the one whose
    practice responds to its contract, see :func:`sim.report.inputs.focal_provider`).
    Scenarios with different horizons, first calendar years or population sizes are refused
    (:class:`sim.comparison.NotComparable`) unless ``align_horizon="shortest"``: then
    everything is computed over the plan years they share, as the report says.

    The page has a plain-language summary generated from the numbers, a side-by-side table
    (payer spending, outcomes, the provider's margin, NPV, probability of loss and of owing,
    VaR95/CVaR95, quality score), fan charts of spending and margin by plan year, the margin
    distribution with the loss region and VaR95, the probability of owing money by year, a
    settlement waterfall, a comparison of outcomes, the cost-effectiveness of each plan
    against the reference (ICER, or dominant/dominated, never a negative ICER; the
    cost-effectiveness plane and the CEAC) and the sensitivity results, each chart with a
    caption. Images are embedded as PNG data URIs and the CSS is inline: the file
    opens without a network connection. It is written to a temporary file next to
    ``output`` and renamed into place. Returns the path written.
    """
    dirs = [result_dirs] if isinstance(result_dirs, str | os.PathLike) else list(result_dirs)
    inputs = load_inputs(dirs, reference=reference, provider=provider,
                         align_horizon=align_horizon)
    html = render_report(inputs, title)
    out = Path(output)
    if out.is_dir():
        raise IsADirectoryError(f"{out} is a directory; give the report's file name, e.g. "
                                f"{out / 'report.html'}")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{secrets.token_hex(4)}.tmp")
    try:
        tmp.write_text(html, encoding="utf-8")
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


__all__ = ["default_title", "render_report", "write_report"]
