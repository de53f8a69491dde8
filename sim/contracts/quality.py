"""Quality measures from the simulation, turned into a 0–100 quality score.

Each measure earns points by linear interpolation between a *floor* benchmark
(0 points) and a *ceiling* benchmark (full points), clipped at both ends; the
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

import math
from collections.abc import Mapping
from dataclasses import dataclass

from sim.contracts.statement import Statement, StatementBuilder

__all__ = [
    "DEFAULT_SCALE",
    "MEASURE_CATALOGUE",
    "MeasureScale",
    "measure_points",
    "measures_from_counts",
    "quality_score",
    "scale_from_config",
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
    unknown = set(measures) - set(sc)
    if unknown:
        raise ValueError(f"measures not in the quality scale: {sorted(unknown)}; "
                         f"scale measures: {sorted(sc)}")
    absent = [k for k in sc if k not in measures]
    if absent and missing != "reweight":
        raise ValueError(f"measures missing for the quality score: {absent} "
                         f"(pass missing='reweight' to score the others)")
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
