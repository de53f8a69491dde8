"""Population metrics per plan year, computed from the ledger (one direction: ledger -> metrics).

Rates "per 1000" are per 1,000 person-years of membership; "per capita" means per
person-year. Spending concentration (``spend_topXpct_share``) is the share of the year's
spending incurred by the costliest X% of the patients who were members at any time in
that year (decedents included), as in Wallis et al. (2021).

The quality measures among them (``readmission_rate_30d``, ``diabetes_controlled_share``,
``ed_visits_per_1000``, ``acsc_admissions_per_1000``) count their numerators and denominators
with :mod:`sim.quality_measures`, as the contracts' quality scores do; a share whose
denominator is empty (no stay, no living diabetic) is NaN. The per-1,000 rates here are
``count x (1000 / person-years)`` like every utilisation rate of the table (0 without
person-years), an arithmetic order kept from before so results stay bit-identical; the
quality scorer's ``1000 x count / person-years`` may differ from it in the last digit.

Health outcomes come in two kinds (``docs/economics.md``):

* the **open panel** (``qalys``, ``qalys_per_capita``): everyone who was a member in the
  year, entrants who replace the dead included: per-person-year figures, not a basis for
  cost-effectiveness (more deaths bring in more healthy 65-year-olds);
* the **closed cohort** (``cohort_*``): the members at the start of plan year 0, followed
  to the horizon whatever happens to them: ``cohort_qalys`` in the year,
  ``cohort_members_end`` alive at its end, and ``cohort_qale_end``, the remaining
  quality-adjusted life expectancy of those alive at the year's end (life table x their
  utility, discounted at the scenario's social rate; :func:`sim.economics.qalys_lost_per_death`),
  valued at the year's end. The last plan year's ``cohort_qale_end`` is the terminal
  value that ``sim.comparison`` adds to the cohort's QALYs.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from sim.catalogue import metric_names
from sim.constants import DAYS_PER_YEAR, DEFAULT_DISCOUNT_RATE, AdmissionKind
from sim.economics import qalys_lost_per_death
from sim.ledger import CATEGORY_BY_CODE, Ledger, patient_sums
from sim.quality_measures import measure_counts, measure_values, readmitted_within_30d
from sim.services import Category, Service

#: Population metrics, in reporting order (their units and labels: :mod:`sim.catalogue`).
POPULATION_METRICS: tuple[str, ...] = metric_names("population")


def top_shares(per_patient: np.ndarray, fractions: tuple[float, ...]) -> list[float]:
    """Share of the total held by the top ``fraction`` of values, for each fraction."""
    s = np.sort(per_patient)[::-1]
    total = s.sum()
    if total <= 0:
        return [0.0 for _ in fractions]
    return [float(s[: max(1, int(round(len(s) * f)))].sum() / total) for f in fractions]


def cohort_outcomes(ledger: Ledger, year: int, discount_rate: float = DEFAULT_DISCOUNT_RATE
                    ) -> tuple[float, float, float]:
    """The closed cohort's QALYs in plan ``year``, its members alive at the year's end, and
    their remaining discounted quality-adjusted life expectancy at the year's end."""
    pt = ledger.patient_year
    if "cohort" not in pt:
        return np.nan, np.nan, np.nan
    cohort = ledger.pyear("cohort", year)
    alive = cohort & ledger.pyear("alive_end", year)
    qale = qalys_lost_per_death(ledger.pyear("age", year)[alive] + 1.0,
                                ledger.pyear("female", year)[alive],
                                ledger.pyear("utility_end", year)[alive], discount_rate)
    return (float(ledger.pyear("qalys", year)[cohort].sum()), float(alive.sum()),
            float(qale.sum()))


def population_metrics(ledger: Ledger, years: int | Iterable[int],
                       discount_rate: float = DEFAULT_DISCOUNT_RATE,
                       ) -> dict[int, dict[str, float]]:
    """All population metrics, ``{year: {metric: value}}``, of plan years ``0..years-1``
    (or of the plan years listed); ``discount_rate`` (the social one) values the closed
    cohort's remaining life expectancy."""
    adm = ledger.admissions
    readmit = readmitted_within_30d(adm)
    deaths_day = ledger.events["deaths"]["day"]
    out: dict[int, dict[str, float]] = {}
    for y in range(years) if isinstance(years, int) else years:
        # the year's block: the claims of every closed year with year == y, in order
        c = ledger.claims_in(y)
        amount = c["amount"]
        service = c["service"]
        py_y = ledger.pyear("person_years", y)
        py = float(py_y.sum())
        per1000 = 1000.0 / py if py > 0 else 0.0
        counts = ledger.service_counts(y)  # counted when the year closed
        by_cat = np.bincount(CATEGORY_BY_CODE.take(service), weights=amount,
                             minlength=len(Category))
        total = float(amount.sum())
        a = adm["year"] == y if adm else np.zeros(0, bool)
        kind = adm["kind"][a] if adm else np.zeros(0)
        mc = measure_counts(ledger, y, claims=c, readmitted=readmit)
        quality = measure_values(mc)
        member = ledger.pyear("member", y)
        per_patient = patient_sums(c["patient"], amount, len(member))
        top = top_shares(per_patient[member], (0.01, 0.05, 0.20))
        ys = ledger.year_stats[y]
        risk = ledger.pyear("risk_score", y)
        qalys = float(ledger.pyear("qalys", y).sum())
        cohort_qalys, cohort_end, cohort_qale = cohort_outcomes(ledger, y, discount_rate)
        row = {
            "person_years": py,
            "members_end": float(ys.get("members_end", np.nan)),
            "spend_total_usd": total,
            "spend_per_capita_usd": total / py if py > 0 else 0.0,
            "spend_inpatient_usd": float(by_cat[Category.INPATIENT]),
            "spend_outpatient_usd": float(by_cat[Category.OUTPATIENT]),
            "spend_professional_usd": float(by_cat[Category.PROFESSIONAL]),
            "spend_post_acute_usd": float(by_cat[Category.POST_ACUTE]),
            "spend_other_usd": float(by_cat[Category.OTHER]),
            "pcp_visits_per_1000": counts[Service.PCP_VISIT] * per1000,
            "specialist_visits_per_1000": counts[Service.SPECIALIST_VISIT] * per1000,
            "tests_per_1000": (counts[Service.LAB] + counts[Service.IMAGING_FACILITY]) * per1000,
            "imaging_per_1000": counts[Service.IMAGING_FACILITY] * per1000,
            "ed_visits_per_1000": float(mc.ed_visits) * per1000,
            "admissions_per_1000": float(a.sum()) * per1000,
            "acsc_admissions_per_1000": float(mc.acsc_admissions) * per1000,
            "elective_admissions_per_1000": float((kind == AdmissionKind.ELECTIVE).sum()) * per1000,
            "outpatient_procedures_per_1000":
                counts[Service.OUTPATIENT_PROCEDURE_FACILITY] * per1000,
            "snf_admissions_per_1000": float((adm["snf_days"][a] > 0).sum()) * per1000
            if adm else 0.0,
            "readmission_rate_30d": quality["readmission_rate_30d"],
            "diabetes_controlled_share": quality["diabetes_controlled_share"],
            "deaths_per_1000": float(((deaths_day >= DAYS_PER_YEAR * y)
                                      & (deaths_day < DAYS_PER_YEAR * (y + 1))).sum()) * per1000,
            "qalys": qalys,
            "qalys_per_capita": qalys / py if py else 0.0,
            "cohort_qalys": cohort_qalys,
            "cohort_members_end": cohort_end,
            "cohort_qale_end": cohort_qale,
            "risk_score_mean": float(np.average(risk, weights=py_y)) if py else 0.0,
            "pcp_wait_days_mean": ys["pcp_wait_days_mean"],
            "pcp_requests_given_up_per_1000": ys["pcp_requests_given_up"] * per1000,
            "bed_wait_days_mean": ys["bed_wait_days_mean"],
            "spend_top1pct_share": top[0],
            "spend_top5pct_share": top[1],
            "spend_top20pct_share": top[2],
        }
        if tuple(row) != POPULATION_METRICS:
            raise RuntimeError("population metrics computed and declared in sim.catalogue "
                               f"differ: {sorted(set(row) ^ set(POPULATION_METRICS))}")
        out[y] = {k: float(v) for k, v in row.items()}
    return out
