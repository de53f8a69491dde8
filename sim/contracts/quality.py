"""Quality measures from the simulation, turned into a 0–100 quality score.

Two scorings. **APP-style** (the scenario default, :func:`app_quality_score`): each
measure earns 1–10 achievement points against benchmark deciles (:class:`DecileBenchmark`,
:func:`decile_points`; 42 CFR 414.1380(b)(1)), the score is points / maximum x 100, and
:func:`quality_standard_met` says whether it meets the MSSP quality performance standard
of its performance year (42 CFR 425.512). The default deciles of the simulated measures
are calibrated to CMS's PY2024 ACO public use file by ``benchmarks/quality_calibration.py``
(see ``docs/contracts.md``, "Quality score").

**Linear** (:func:`quality_score`): each measure earns points by linear interpolation
between a *floor* benchmark (0 points) and a *ceiling* benchmark (full points), clipped at both ends; the
direction follows from the two values (a lower-is-better measure has its ceiling
below its floor). The score is the weighted mean of the points × 100. The scale
(floor, ceiling, weight per measure) is configurable per scenario
(:func:`scale_from_config` refuses unknown keys).

Default benchmarks, floor = a weak ACO (90th/10th percentile of the worse side),
ceiling = a strong one, from CMS's MSSP PY2024 ACO public use file
(``/shared/data/cms/mssp_aco_puf_py2024.csv``, distribution across ACOs):

==================== ======== ======== =========================================
measure              floor    ceiling  source
==================== ======== ======== =========================================
readmission_rate_30d 0.164    0.139    Measure_479 (hospital-wide all-cause
                                       unplanned readmission), p90 / p10
hba1c_control_share  0.862    0.949    1 − QualityID_001_WI (HbA1c poor control
                                       > 9%), p90 / p10
annual_visit_share   0.75     0.95     assumption (share of members with a
                                       primary-care or annual wellness visit)
ed_visits_per_1000   778      502      P_EDV_Vis (ED visits per 1,000), p90 / p10
bp_control_share     0.710    0.881    QualityID_236_WI (controlling high blood
                                       pressure), p10 / p90 (optional)
admissions_per_1000  314.5    199      ADM (acute admissions per 1,000), p90/p10
                                       (optional)
==================== ======== ======== =========================================
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from sim.contracts.statement import Statement, StatementBuilder


def _check_measures(measures: Mapping[str, float], known: Mapping[str, object], missing: str,
                    unknown_what: str, known_what: str) -> list[str]:
    """The scale measures absent from ``measures``; refuses measures the scale does not
    know, and (unless ``missing == "reweight"``) absent ones."""
    unknown = set(measures) - set(known)
    if unknown:
        raise ValueError(f"measures {unknown_what}: {sorted(unknown)}; "
                         f"{known_what}: {sorted(known)}")
    absent = [k for k in known if k not in measures]
    if absent and missing != "reweight":
        raise ValueError(f"measures missing for the quality score: {absent} "
                         f"(pass missing='reweight' to score the others)")
    return absent


__all__ = [
    "DEFAULT_SCALE",
    "DecileBenchmark",
    "app_quality_score",
    "decile_points",
    "qps_score",
    "quality_standard_met",
    "MEASURE_CATALOGUE",
    "MeasureScale",
    "measure_points",
    "measures_from_counts",
    "quality_score",
    "scale_from_config",
    "scale_from_scenario",
    "score_measures",
    "score_value",
]


@dataclass(frozen=True)
class MeasureScale:
    """How one measure earns points: 0 at ``floor``, full at ``ceiling``."""

    name: str
    floor: float
    ceiling: float
    weight: float = 1.0
    unit: str = ""
    source: str = "assumption"

    def __post_init__(self) -> None:
        if self.floor == self.ceiling:
            raise ValueError(f"{self.name}: floor and ceiling must differ")
        if not self.weight >= 0 or not math.isfinite(self.weight):
            raise ValueError(f"{self.name}: weight must be >= 0")

    @property
    def higher_is_better(self) -> bool:
        return self.ceiling > self.floor


PUF = "CMS MSSP PY2024 ACO public use file"
MEASURE_CATALOGUE: dict[str, MeasureScale] = {
    m.name: m
    for m in (
        MeasureScale("readmission_rate_30d", 0.164, 0.139, 1.0, "readmissions per index discharge",
                     f"{PUF}, Measure_479 p90/p10"),
        MeasureScale("hba1c_control_share", 0.862, 0.949, 1.0,
                     "share of diabetics with HbA1c <= 9%",
                     f"{PUF}, 1 - QualityID_001_WI p90/p10"),
        MeasureScale("annual_visit_share", 0.75, 0.95, 1.0,
                     "share of members with a primary-care or annual wellness visit",
                     "assumption"),
        MeasureScale("ed_visits_per_1000", 778.0, 502.0, 1.0, "ED visits per 1,000 member-years",
                     f"{PUF}, P_EDV_Vis p90/p10"),
        MeasureScale("bp_control_share", 0.710, 0.881, 1.0,
                     "share of hypertensives with controlled blood pressure",
                     f"{PUF}, QualityID_236_WI p10/p90"),
        MeasureScale("admissions_per_1000", 314.5, 199.0, 1.0,
                     "acute admissions per 1,000 member-years", f"{PUF}, ADM p90/p10"),
    )
}
DEFAULT_MEASURES = ("readmission_rate_30d", "hba1c_control_share", "annual_visit_share",
                    "ed_visits_per_1000")
DEFAULT_SCALE: dict[str, MeasureScale] = {k: MEASURE_CATALOGUE[k] for k in DEFAULT_MEASURES}

_CONFIG_KEYS = {"floor", "ceiling", "weight", "unit", "source"}


def scale_from_config(config: Mapping[str, Mapping[str, object]]) -> dict[str, MeasureScale]:
    """A scale from scenario configuration ``{measure: {floor, ceiling, weight}}``.

    Measures of :data:`MEASURE_CATALOGUE` may give only what they change (the rest
    is the catalogue's); other measures need ``floor`` and ``ceiling``. Unknown keys
    are refused with the list of valid ones.
    """
    out: dict[str, MeasureScale] = {}
    for name, spec in config.items():
        unknown = set(spec) - _CONFIG_KEYS
        if unknown:
            raise ValueError(f"quality scale {name!r}: unknown keys {sorted(unknown)}; "
                             f"valid keys: {sorted(_CONFIG_KEYS)}")
        base = MEASURE_CATALOGUE.get(name)
        if base is None and not {"floor", "ceiling"} <= set(spec):
            raise ValueError(f"quality scale {name!r} is not a known measure "
                             f"({sorted(MEASURE_CATALOGUE)}); give its floor and ceiling")
        fields = {} if base is None else {
            "floor": base.floor, "ceiling": base.ceiling, "weight": base.weight,
            "unit": base.unit, "source": base.source}
        fields.update(spec)
        out[name] = MeasureScale(name=name, **fields)  # type: ignore[arg-type]
    return out


def measure_points(value: float, scale: MeasureScale) -> float:
    """Share of full points (0–1): linear from floor to ceiling, clipped."""
    if not math.isfinite(value):
        raise ValueError(f"{scale.name}: measure value must be finite, got {value!r}")
    frac = (value - scale.floor) / (scale.ceiling - scale.floor)
    return min(1.0, max(0.0, frac))


def quality_score(
    measures: Mapping[str, float],
    scale: Mapping[str, MeasureScale] | None = None,
    missing: str = "error",
) -> Statement:
    """The 0–100 quality score of a set of measures.

    Args:
        measures: measure name → value (rates as fractions, per-1,000 rates as such).
        scale: measure name → :class:`MeasureScale` (None: :data:`DEFAULT_SCALE`).
        missing: ``"error"`` (default) refuses a scale measure absent from
            ``measures``; ``"reweight"`` scores the present ones only.

    Returns:
        A ``"quality"`` statement (no cash): one line per measure (its points), values
        ``score`` and ``points_<measure>``.
    """
    sc = DEFAULT_SCALE if scale is None else scale
    absent = _check_measures(measures, sc, missing, "not in the quality scale",
                             "scale measures")
    st = StatementBuilder("quality")
    total_w = 0.0
    total = 0.0
    for name, m in sc.items():
        if name not in measures:
            continue
        pts = measure_points(float(measures[name]), m)
        st.line(f"{name}", 100.0 * pts,
                f"value {measures[name]:.4g}: points on {m.floor:g} → {m.ceiling:g}, "
                f"weight {m.weight:g}")
        st.value(f"value_{name}", float(measures[name]))
        st.value(f"points_{name}", 100.0 * pts)
        total += m.weight * pts
        total_w += m.weight
    if total_w <= 0:
        raise ValueError("no measure with positive weight to score")
    score = st.line("quality score", 100.0 * total / total_w, "weighted mean of points")
    st.value("score", score)
    st.fact("measures_missing", ",".join(absent))
    return st.build()


def measures_from_counts(
    index_discharges: float = 0,
    readmissions_30d: float = 0,
    diabetics: float = 0,
    diabetics_controlled: float = 0,
    members: float = 0,
    members_with_annual_visit: float = 0,
    member_years: float = 0,
    ed_visits: float = 0,
    admissions: float | None = None,
    hypertensives: float = 0,
    hypertensives_controlled: float = 0,
) -> dict[str, float]:
    """Measure values from simulated counts; a measure whose denominator is 0 is left out.

    * readmission_rate_30d = readmissions within 30 days / index discharges
    * hba1c_control_share = diabetics controlled / diabetics
    * annual_visit_share = members with a visit in the year / members
    * ed_visits_per_1000 = ED visits / member-years × 1,000
    * admissions_per_1000 = admissions / member-years × 1,000 (when given)
    * bp_control_share = hypertensives controlled / hypertensives
    """
    out: dict[str, float] = {}

    def ratio(name: str, num: float, den: float, per: float = 1.0) -> None:
        if num < 0 or den < 0:
            raise ValueError(f"{name}: counts must be >= 0")
        if den > 0:
            if per == 1.0 and num > den:
                raise ValueError(f"{name}: numerator {num} exceeds denominator {den}")
            out[name] = per * num / den

    ratio("readmission_rate_30d", readmissions_30d, index_discharges)
    ratio("hba1c_control_share", diabetics_controlled, diabetics)
    ratio("annual_visit_share", members_with_annual_visit, members)
    ratio("ed_visits_per_1000", ed_visits, member_years, 1000.0)
    if admissions is not None:
        ratio("admissions_per_1000", admissions, member_years, 1000.0)
    ratio("bp_control_share", hypertensives_controlled, hypertensives)
    return out


# ---------------------------------------------------------------------------------------
# APP-style scoring: benchmark deciles, 1-10 achievement points per measure, 0-100 score.
# ---------------------------------------------------------------------------------------

#: Number of decile thresholds of a benchmark (where deciles 2..10 begin).
N_THRESHOLDS = 9


@dataclass(frozen=True)
class DecileBenchmark:
    """The benchmark of one measure: where deciles 2, 3, ..., 10 begin.

    ``thresholds`` are the values at which decile 2..10 start, ordered from worse to
    better performance: increasing for a higher-is-better measure, decreasing for a
    lower-is-better one (MIPS benchmarks: decile k starts at the 10(k-1)-th percentile
    of the benchmark population, 42 CFR 414.1380(b)(1)(i)). ``outcome`` marks an outcome
    measure (the alternative quality performance standard looks at them apart).
    """

    name: str
    thresholds: tuple[float, ...]
    weight: float = 1.0
    outcome: bool = False
    unit: str = ""
    source: str = "assumption"

    def __post_init__(self) -> None:
        t = np.asarray(self.thresholds, float)
        if t.shape != (N_THRESHOLDS,) or not np.all(np.isfinite(t)):
            raise ValueError(f"{self.name}: a decile benchmark needs {N_THRESHOLDS} finite "
                             f"thresholds (where deciles 2..10 begin), got {self.thresholds!r}")
        d = np.diff(t)
        if not (np.all(d > 0) or np.all(d < 0)):
            raise ValueError(f"{self.name}: decile thresholds must be strictly increasing "
                             f"(higher is better) or strictly decreasing (lower is better), "
                             f"got {self.thresholds!r}")
        if not self.weight >= 0 or not math.isfinite(self.weight):
            raise ValueError(f"{self.name}: weight must be >= 0")

    @property
    def higher_is_better(self) -> bool:
        return self.thresholds[-1] > self.thresholds[0]


def decile_points(value: float, bench: DecileBenchmark) -> float:
    """Achievement points (1-10) of a measure value against its benchmark deciles.

    Rule (MIPS quality scoring, 42 CFR 414.1380(b)(1)(i), used by the APM Performance
    Pathway that scores MSSP ACOs, 42 CFR 414.1367): a value in decile k (2-9) earns k
    points plus the fraction of the decile it has covered (partial points: halfway through
    decile 4 earns 4.5); decile 10 earns 10; a value worse than where decile 2 begins
    earns 1 point (decile 1's own lower bound is not part of the benchmark).
    """
    if not math.isfinite(value):
        raise ValueError(f"{bench.name}: measure value must be finite, got {value!r}")
    sign = 1.0 if bench.higher_is_better else -1.0
    v = sign * value
    t = [sign * x for x in bench.thresholds]
    if v < t[0]:
        return 1.0
    if v >= t[-1]:
        return 10.0
    k = bisect.bisect_right(t, v)  # 1..8: v in [t[k-1], t[k])
    return (k + 1) + (v - t[k - 1]) / (t[k] - t[k - 1])


def app_quality_score(
    measures: Mapping[str, float],
    benchmarks: Mapping[str, DecileBenchmark],
    missing: str = "error",
) -> Statement:
    """The APP-style 0-100 quality score of a set of measures.

    Each benchmarked measure earns 1-10 achievement points (:func:`decile_points`); the
    score is the weighted points over the weighted maximum (10 per measure) x 100
    (quality performance category score = achievement points / available points, 42 CFR
    414.1380(b)(1); measures that cannot be scored are left out of both, as CMS leaves out
    measures below their case minimum). With ``missing="reweight"`` an absent measure is
    left out; by default it is refused.

    Returns:
        A ``"quality"`` statement (no cash): one line per measure (its points), values
        ``score``, ``points_<measure>``, ``value_<measure>``, ``outcome_points_max``
        (best points among outcome measures) and ``other_points_max`` (among the others).
    """
    absent = _check_measures(measures, benchmarks, missing, "without a benchmark",
                             "benchmarked measures")
    st = StatementBuilder("quality")
    total = total_w = 0.0
    best = {True: math.nan, False: math.nan}
    for name, b in benchmarks.items():
        if name not in measures:
            continue
        pts = decile_points(float(measures[name]), b)
        st.line(name, pts, f"value {measures[name]:.4g}: decile points (1-10), "
                f"weight {b.weight:g}")
        st.value(f"value_{name}", float(measures[name]))
        st.value(f"points_{name}", pts)
        if b.weight > 0:
            best[b.outcome] = pts if math.isnan(best[b.outcome]) else max(best[b.outcome], pts)
        total += b.weight * pts
        total_w += b.weight * 10.0
    if total_w <= 0:
        raise ValueError("no measure with positive weight to score")
    score = st.line("quality score", 100.0 * total / total_w,
                    "weighted achievement points / weighted maximum (10 each)")
    st.value("score", score)
    st.value("outcome_points_max", best[True])
    st.value("other_points_max", best[False])
    st.fact("measures_missing", ",".join(absent))
    return st.build()


# --- the quality performance standard (42 CFR 425.512) ---------------------------------

#: MIPS quality performance category score at the percentile the MSSP quality performance
#: standard requires, by performance year (the last entry applies to later years).
#: PY2024 on: the 40th percentile (42 CFR 425.512(a)(4)(i)(B)); the CMS PY2024 ACO PUF puts
#: it between 77.02 (highest score with Met_40pctl = 0) and 77.05 (lowest with 1): 77.03.
#: PY2022-2023: the 30th percentile (42 CFR 425.512(a)(4)(i)(A)); every PY2023 ACO met it
#: and the lowest PY2023 score was 65.76 (PUF), so 65.0 is an assumption below that bound.
QPS_SCORE_BY_YEAR: dict[int, float] = {2022: 65.0, 2024: 77.03}
#: Decile points of the percentiles of the alternative standard (PY2023 on, 42 CFR
#: 425.512(a)(4)(ii)): the 10th percentile on at least one outcome measure (decile 2
#: begins at the 10th percentile: 2 points) and the 40th percentile on at least one other
#: measure (decile 5: 5 points).
ALT_QPS_OUTCOME_POINTS = 2.0
ALT_QPS_OTHER_POINTS = 5.0
ALT_QPS_FROM = 2023


def qps_score(performance_year: int) -> float:
    """Quality score that meets the MSSP quality performance standard in a performance year
    (:data:`QPS_SCORE_BY_YEAR`; years before the first entry use the first)."""
    years = sorted(QPS_SCORE_BY_YEAR)
    y = max([k for k in years if k <= performance_year], default=years[0])
    return QPS_SCORE_BY_YEAR[y]


def quality_standard_met(
    score: float,
    performance_year: int,
    outcome_points_max: float = math.nan,
    other_points_max: float = math.nan,
    standard_score: float | None = None,
    alternative_score: float | None = None,
) -> str:
    """``"met"``, ``"alternative"`` or ``"failed"``: the MSSP quality performance standard.

    Rule (42 CFR 425.512(a)(4)): met when the score is at or above the year's percentile
    score (``standard_score``, default :func:`qps_score`); otherwise, from PY2023, the
    alternative standard is met when at least one outcome measure reaches the 10th
    percentile and at least one other measure the 40th (decile points, see
    :data:`ALT_QPS_OUTCOME_POINTS`), or, when ``alternative_score`` is given, when the
    score is at or above it (a score-only stand-in); else failed.
    """
    if not 0.0 <= score <= 100.0:
        raise ValueError(f"score must be in [0, 100], got {score!r}")
    threshold = qps_score(performance_year) if standard_score is None else standard_score
    if score >= threshold:
        return "met"
    if performance_year < ALT_QPS_FROM:
        return "failed"
    if alternative_score is not None:
        return "alternative" if score >= alternative_score else "failed"
    ok = (outcome_points_max >= ALT_QPS_OUTCOME_POINTS
          and other_points_max >= ALT_QPS_OTHER_POINTS)
    return "alternative" if ok else "failed"


Scale = Mapping[str, MeasureScale] | Mapping[str, DecileBenchmark]


def scale_from_scenario(quality: object, names: tuple[str, ...]) -> dict:
    """The rule objects of a scenario's ``quality`` section for measures ``names``: decile
    benchmarks (``scoring: app_deciles``; measures without deciles are not scored) or
    linear scales (``scoring: linear``)."""
    out: dict = {}
    app = getattr(quality, "scoring", "linear") == "app_deciles"
    for name in names:
        m = getattr(quality, name)
        if app:
            if m.deciles:
                out[name] = DecileBenchmark(name, tuple(m.deciles), m.weight, m.outcome)
        else:
            out[name] = MeasureScale(name, m.floor, m.ceiling, m.weight)
    return out


def score_measures(measures: Mapping[str, float], scale: Scale, missing: str = "reweight"
                   ) -> Statement:
    """The quality statement of ``measures`` on ``scale`` (APP deciles or linear); measures
    the scale does not score are ignored."""
    kept = {k: v for k, v in measures.items() if k in scale}
    if scale and all(isinstance(b, DecileBenchmark) for b in scale.values()):
        return app_quality_score(kept, scale, missing)  # type: ignore[arg-type]
    return quality_score(kept, scale, missing)  # type: ignore[arg-type]


def score_value(measures: Mapping[str, float], scale: Scale) -> float:
    """``score_measures(measures, scale)["score"]`` without the statement: the same
    arithmetic in the same order (tested equal), for the expected payoffs, which need the
    score of every candidate lever setting."""
    total = total_w = 0.0
    if scale and all(isinstance(b, DecileBenchmark) for b in scale.values()):
        for name, b in scale.items():
            if name not in measures:
                continue
            pts = decile_points(float(measures[name]), b)  # type: ignore[arg-type]
            total += b.weight * pts
            total_w += b.weight * 10.0
    else:
        for name, m in scale.items():
            if name not in measures:
                continue
            pts = measure_points(float(measures[name]), m)  # type: ignore[arg-type]
            total += m.weight * pts
            total_w += m.weight
    if total_w <= 0:
        raise ValueError("no measure with positive weight to score")
    return 100.0 * total / total_w
