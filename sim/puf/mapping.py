"""From one ACO's PUF row to a scenario: population, track, agreement, benchmark, targets.

Every value set here carries a comment naming the PUF column it came from (``comments``,
keyed by the dotted scenario path), and a suppressed cell leaves the schema default with a
comment saying so. The care-model rates are fitted afterwards (:mod:`sim.puf.fit`) to the
targets collected here (per-capita spending by category, utilisation per 1,000).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sim.contracts.mssp.benchmark import regional_share
from sim.puf.reading import PufError, PufRow

#: PUF Current_Track -> MSSP contract track (CMS PUF data dictionary: A-E = BASIC levels,
#: EN = ENHANCED)
TRACKS = {"A": "BASIC_A", "B": "BASIC_B", "C": "BASIC_C", "D": "BASIC_D", "E": "BASIC_E",
          "EN": "ENHANCED"}

#: model spending category -> PUF per-capita expenditure columns summed into it. The PUF's
#: settings are Part A/B claim types; the care model's categories (sim.services.Category)
#: follow them: inpatient = all inpatient facility stays; outpatient = hospital outpatient
#: (OPD); professional = Part B physician/supplier (PB); post-acute = SNF + home health;
#: other = hospice + DME + ambulance.
SPEND_COLUMNS: dict[str, tuple[str, ...]] = {
    "inpatient": ("CapAnn_INP_All",),
    "outpatient": ("CapAnn_OPD",),
    "professional": ("CapAnn_PB",),
    "post_acute": ("CapAnn_SNF", "CapAnn_HHA"),
    "other": ("CapAnn_HSP", "CapAnn_DME", "CapAnn_AmbPay"),
}

#: model metric -> PUF utilisation column (per 1,000 person-years)
UTILISATION_COLUMNS: dict[str, str] = {
    "admissions_per_1000": "ADM",
    "ed_visits_per_1000": "P_EDV_Vis",
    "pcp_visits_per_1000": "P_EM_PCP_Vis",
    "specialist_visits_per_1000": "P_EM_SP_Vis",
    "snf_admissions_per_1000": "P_SNF_ADM",
}


@dataclass
class Target:
    """A PUF figure the calibrated FFS year should reproduce."""

    name: str        # model metric (per capita spending: spend_<category>_per_capita_usd)
    column: str      # PUF column(s), "+"-joined
    value: float


@dataclass
class Mapped:
    """The scenario dict built from a row, its YAML comments and the calibration targets."""

    data: dict[str, Any]
    comments: dict[str, str] = field(default_factory=dict)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _set(data: dict[str, Any], path: str, value: Any) -> None:
    node = data
    *parents, leaf = path.split(".")
    for p in parents:
        node = node.setdefault(p, {})
    node[leaf] = value


def _start_date(raw: str | None) -> date | None:
    if raw is None:
        return None
    for fmt in ("%m/%d/%Y", "%Y-%m-%d", "%m/%d/%y"):
        try:
            return datetime.strptime(raw, fmt).date()
        except ValueError:
            continue
    return None


def map_row(row: PufRow) -> Mapped:
    """The scenario (dict, before calibration) of the ACO in ``row``."""
    aco = row.text("ACO_ID") or "ACO"
    py = row.year
    col = f"{row.path.name} PY{py}"
    m = Mapped(data={
        "name": f"{aco.lower()}_py{py + 1}",
        "description": (f"{row.text('ACO_Name') or aco} ({aco}) from its CMS MSSP ACO PUF "
                        f"PY{py} row, projected to {py + 1} under its current track."),
    })
    c = m.comments

    def setc(path: str, value: Any, comment: str) -> None:
        _set(m.data, path, value)
        c[path] = comment

    setc("behavior", "incentives", "practice re-chosen each year from the contracts "
         "(docs/behaviour.md); costs and norms at the fitted prices (reference_prices), so "
         "under FFS the calibrated practice is the optimum (docs/puf.md)")
    setc("economics.first_calendar_year", py + 1, f"the year after {col}")
    n_ab = row.number("N_AB")
    if n_ab is None or n_ab < 10:
        raise_suppressed(row, "N_AB")
    setc("population.size", int(round(n_ab)), f"N_AB (assigned beneficiaries), {col}")
    f, male = row.number("N_Ben_Female"), row.number("N_Ben_Male")
    if f is not None and male is not None and f + male > 0:
        setc("population.female_share", round(f / (f + male), 4),
             "N_Ben_Female / (N_Ben_Female + N_Ben_Male)")
    else:
        m.notes.append("N_Ben_Female/N_Ben_Male suppressed: schema default female_share")
    bands = {k: row.number(f"N_Ben_Age_{s}") for k, s in
             (("age_65_74", "65_74"), ("age_75_84", "75_84"), ("age_85_plus", "85plus"))}
    if all(v is not None for v in bands.values()) and sum(bands.values()) > 0:  # type: ignore[arg-type]
        tot = sum(bands.values())  # type: ignore[arg-type]
        shares = {k: round(v / tot, 4) for k, v in bands.items()}  # type: ignore[operator]
        shares["age_85_plus"] = round(1.0 - shares["age_65_74"] - shares["age_75_84"], 4)
        for k, v in shares.items():
            setc(f"population.age_bands.{k}", v,
                 f"N_Ben_Age_{k[4:].replace('_plus', 'plus')} / aged (65+) beneficiaries")
        under65 = row.number("N_Ben_Age_0_64") or 0.0
        m.notes.append(f"the care model is aged-only (65+): the {under65:.0f} beneficiaries "
                       "under 65 (N_Ben_Age_0_64) are represented by the aged mix")
    else:
        m.notes.append("N_Ben_Age_* suppressed: schema default age_bands")
    dual = row.number("Perc_Dual")
    esrd, dis = row.number("N_AB_Year_ESRD_PY"), row.number("N_AB_Year_DIS_PY")
    m.notes.append(f"dual share {dual}% (Perc_Dual), ESRD person-years {esrd}, disabled "
                   f"{dis} (N_AB_Year_*_PY): no field in the model; informational")
    los = row.number("SNF_LOS")
    if los is not None and 1 <= los <= 100:
        setc("clinical.post_acute.snf_los_mean_days", los, f"SNF_LOS, {col}")
    pay = row.number("SNF_PayperStay")
    if pay is not None and los:
        setc("prices.snf_per_day_usd", round(pay / los, 2), "SNF_PayperStay / SNF_LOS")

    for cat, cols in SPEND_COLUMNS.items():
        vals = [row.number(x) for x in cols]
        if any(v is None for v in vals):
            m.notes.append(f"{'+'.join(cols)} suppressed: {cat} prices keep their defaults")
            continue
        m.targets.append(Target(f"spend_{cat}_per_capita_usd", "+".join(cols),
                                float(sum(vals))))  # type: ignore[arg-type]
    for metric, column in UTILISATION_COLUMNS.items():
        v = row.number(column)
        if v is None:
            m.notes.append(f"{column} suppressed: its rate keeps the default")
            continue
        m.targets.append(Target(metric, column, v))

    _plan(row, m, setc)
    return m


def raise_suppressed(row: PufRow, column: str) -> None:
    raise PufError(f"{row.path}: ACO {row.text('ACO_ID')}: {column} is suppressed or below 10 "
                   "in the PUF; no scenario can be sized from it")


def _plan(row: PufRow, m: Mapped, setc: Any) -> None:
    py = row.year
    raw_track = (row.text("Current_Track") or "").upper()
    track = TRACKS.get(raw_track)
    mssp: dict[str, Any] = {"type": "mssp", "payer": "medicare", "aco": "primary_care_group"}
    notes: list[str] = []
    if track is None:
        track = "BASIC_A"
        notes.append(f"Current_Track {raw_track!r} unknown: BASIC_A assumed")
    else:
        notes.append(f"track: Current_Track {raw_track}")
    mssp["track"] = track
    start = _start_date(row.text("Current_Start_Date"))
    # The model sets a benchmark from the three years before the agreement starts, held
    # in its warm-up history, so the simulated agreement starts at plan year 0 (a
    # benchmark rebased on the ACO's own recent spending, as at a renewal).
    mssp["agreement_start_year"] = 0
    if start is not None:
        # a July start (2019's 6-month period) has its first full performance year next January
        first_py = start.year if start.month == 1 else start.year + 1
        notes.append(f"agreement_start_year 0 (benchmark from the warm-up years); actual "
                     f"Current_Start_Date {start.isoformat()}, first full PY {first_py}, "
                     f"agreement ends {first_py + 4}")
    period = row.number("Agreement_Period_Num")
    if period is not None and period >= 1:
        mssp["prior_agreement_periods"] = int(period) - 1
        notes.append("prior_agreement_periods: Agreement_Period_Num - 1")
    msr = row.number("MinSavPerc")
    if msr is not None and (row.text("Risk_Model") or "").lower().startswith("two"):
        mssp["msr"] = mssp["mlr"] = round(msr / 100, 4)
        notes.append("msr = mlr: MinSavPerc (two-sided ACOs choose a symmetric MSR/MLR)")
    reg, hist = row.number("RegAdj"), row.number("HistBnchmk")
    if reg is not None and hist and period is not None and period >= 1:
        # regional adjustment = share x (regional - ACO), the share by agreement period and
        # sign (42 CFR 425.601(a)(8)(ii)(B), 425.656(c)(1)); as the config field's source
        w = regional_share(int(period), reg > 0)
        ratio = min(2.0, max(0.5, 1.0 + reg / w / hist))
        mssp["regional_to_aco_ratio"] = round(ratio, 4)
        notes.append(f"regional_to_aco_ratio: 1 + RegAdj / {w:.0%} / HistBnchmk")
    else:
        notes.append("RegAdj/HistBnchmk/Agreement_Period_Num missing or suppressed (RegAdj is "
                     "in the PY2024 file only): regional_to_aco_ratio keeps its default")
    m.data["plan"] = [{"years": "all", "contracts": [
        {"type": "ffs", "payer": "medicare"}, mssp]}]
    standing = []
    for label, column in (("updated benchmark per capita", "UpdatedBnchmk"),
                          ("historical benchmark", "HistBnchmk"),
                          ("regional adjustment", "RegAdj"),
                          ("savings rate %", "Sav_rate"), ("quality score", "QualScore"),
                          ("earned savings/losses $", "EarnSaveLoss")):
        v = row.number(column)
        if v is not None:
            standing.append(f"{label} {v:g} ({column})")
    m.comments["plan"] = "; ".join(notes)
    m.notes.append(f"PY{py} standing: " + "; ".join(standing))
