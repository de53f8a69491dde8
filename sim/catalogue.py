"""The metric catalogue: every metric of the results table declared once.

Each :class:`Metric` says what a number means: its unit, a short label (chart titles, table
rows), a label for use inside a sentence, which direction is better (``lower``, ``higher``
or ``neither``), whether it is money, whether it is a 0-1 share, and which stage computes
it. The population metrics (:mod:`sim.metrics`), the settlement's economics, comparisons
(:mod:`sim.comparison`), results formatting (:mod:`sim.results`), the plots and the report
all read it, so a new metric is added here once (and computed by its stage).

Families (``lever_*``, ``incentive_*_usd``) are declared once with a ``*`` in the name and
a ``{}`` in the labels for the varying part. A name that is neither declared nor in a family
(a table made by hand, a custom output) gets a description guessed from its name's unit
suffix by :func:`describe` (``known`` is then ``False``).

Layer 0: imports nothing of the simulator.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

__all__ = [
    "CATALOGUE",
    "FAMILIES",
    "Direction",
    "Metric",
    "Stage",
    "describe",
    "is_known",
    "key_metrics",
    "is_money",
    "is_share",
    "lower_is_better",
    "metric_label",
    "metric_names",
    "metric_unit",
    "sentence_label",
]

Direction = Literal["lower", "higher", "neither"]
#: Who computes a metric: population metrics from the ledger (``sim.metrics``), provider or
#: payer economics (settlement), the behaviour model (levers and incentives), or the risk
#: summaries across replications (``sim.risk``, ``sim.comparison.npv``; not rows of the
#: results table but statistics of them).
Stage = Literal["population", "provider_economics", "payer_economics", "behaviour", "risk"]


@dataclass(frozen=True)
class Metric:
    """What one metric (or family of metrics) means."""

    name: str  # the metric's name in the results table (a family: with one "*")
    unit: str
    label: str  # short, capitalised: "Hospital admissions"
    better: Direction
    stage: Stage
    money: bool = False  # in US dollars
    share: bool = False  # a share between 0 and 1 (shown as a percentage)
    sentence: str = ""  # within a sentence: "hospital admissions" (default: from label)
    known: bool = True  # False: not in the catalogue, guessed from the name
    key: bool = False  # in the key-metrics view printed by default (``vbcsim run``)

    def __post_init__(self) -> None:
        if not self.sentence:
            first = self.label[:1].lower() if self.label[1:2].islower() else self.label[:1]
            object.__setattr__(self, "sentence", first + self.label[1:])

    @property
    def lower_is_better(self) -> bool:
        """Whether smaller values are better."""
        return self.better == "lower"


PER_1000 = "per 1,000 person-years"
USD_YEAR = "USD per year"
USD_PY = "USD per person-year"


def _pop(name: str, unit: str, label: str, better: Direction, **kw: object) -> Metric:
    return Metric(name, unit, label, better, "population", money=unit.startswith("USD"),
                  **kw)  # type: ignore[arg-type]


def _usd(name: str, label: str, better: Direction, stage: Stage, unit: str = USD_YEAR,
         **kw: object) -> Metric:
    return Metric(name, unit, label, better, stage, money=True, **kw)  # type: ignore[arg-type]


_ENTRIES: tuple[Metric, ...] = (
    # ---- population metrics (sim.metrics), in reporting order
    _pop("person_years", "person-years", "Person-years of membership", "neither"),
    _pop("members_end", "patients", "Members at year end", "neither"),
    _pop("spend_total_usd", USD_YEAR, "Allowed spending", "lower"),
    _pop("spend_per_capita_usd", USD_PY, "Allowed spending per capita", "lower", key=True),
    _pop("spend_inpatient_usd", USD_YEAR, "Inpatient spending", "lower"),
    _pop("spend_outpatient_usd", USD_YEAR, "Outpatient spending", "lower"),
    _pop("spend_professional_usd", USD_YEAR, "Professional spending", "lower"),
    _pop("spend_post_acute_usd", USD_YEAR, "Post-acute spending", "lower"),
    _pop("spend_other_usd", USD_YEAR, "Other spending", "lower"),
    _pop("pcp_visits_per_1000", PER_1000, "Primary-care visits", "neither"),
    _pop("specialist_visits_per_1000", PER_1000, "Specialist visits", "neither"),
    _pop("tests_per_1000", PER_1000, "Tests (laboratory and imaging)", "neither"),
    _pop("imaging_per_1000", PER_1000, "Imaging studies", "neither"),
    _pop("ed_visits_per_1000", PER_1000, "Emergency department visits", "lower", key=True),
    _pop("admissions_per_1000", PER_1000, "Hospital admissions", "lower", key=True),
    _pop("acsc_admissions_per_1000", PER_1000, "Preventable (ACSC) admissions", "lower"),
    _pop("elective_admissions_per_1000", PER_1000, "Elective admissions", "neither"),
    _pop("outpatient_procedures_per_1000", PER_1000, "Outpatient procedures", "neither"),
    _pop("snf_admissions_per_1000", PER_1000, "Skilled-nursing stays", "neither"),
    _pop("readmission_rate_30d", "share of discharges", "30-day readmission rate", "lower",
         share=True, key=True),
    _pop("diabetes_controlled_share", "share of living diabetics at year end",
         "Diabetics in control (HbA1c)", "higher", share=True,
         sentence="diabetic control (HbA1c)", key=True),
    _pop("deaths_per_1000", PER_1000, "Deaths", "lower", key=True),
    _pop("qalys", "QALYs per year", "QALYs (open panel)", "higher"),
    _pop("qalys_per_capita", "QALYs per person-year", "QALYs per capita (open panel)",
         "higher"),
    _pop("cohort_qalys", "QALYs per year", "QALYs (closed cohort)", "higher"),
    _pop("cohort_members_end", "patients", "Closed cohort alive at year end", "higher"),
    _pop("cohort_qale_end", "QALYs", "Remaining QALYs of the closed cohort at year end",
         "higher"),
    _pop("risk_score_mean", "relative factor", "Mean coded risk score", "neither"),
    _pop("pcp_wait_days_mean", "days", "Wait for a primary-care appointment", "lower"),
    _pop("pcp_requests_given_up_per_1000", PER_1000, "Primary-care requests given up",
         "lower"),
    _pop("bed_wait_days_mean", "days", "Wait for a hospital bed", "lower"),
    _pop("spend_top1pct_share", "share of spending", "Spending of the costliest 1%", "neither",
         share=True),
    _pop("spend_top5pct_share", "share of spending", "Spending of the costliest 5%", "neither",
         share=True),
    _pop("spend_top20pct_share", "share of spending", "Spending of the costliest 20%",
         "neither", share=True),
    # ---- provider economics (settlement), per provider and year
    _usd("revenue_usd", "Revenue", "higher", "provider_economics", key=True),
    _usd("ffs_revenue_usd", "Fee-for-service revenue", "neither", "provider_economics"),
    _usd("capitation_revenue_usd", "Capitation revenue", "neither", "provider_economics"),
    _usd("settlement_usd", "Settlement from the payer", "higher", "provider_economics",
         unit="USD per year, negative: owed to the payer", key=True),
    _usd("cost_usd", "Cost", "lower", "provider_economics"),
    _usd("own_service_cost_usd", "Variable cost of own services", "lower",
         "provider_economics"),
    _usd("capacity_cost_usd", "Capacity cost (fixed, paid whether used or not)", "lower",
         "provider_economics"),
    _usd("paid_to_providers_usd", "Claims paid to other providers", "lower",
         "provider_economics"),
    _usd("investment_cost_usd", "Investment (care managers, data)", "lower",
         "provider_economics"),
    _usd("effort_cost_usd", "Effort of changing practice", "lower", "provider_economics"),
    _usd("fixed_cost_usd", "Fixed costs", "lower", "provider_economics"),
    _usd("margin_usd", "Margin", "higher", "provider_economics", key=True),
    _usd("decision_margin_usd", "Margin the organisation optimises (group: with its "
         "specialists' share)", "higher", "provider_economics"),
    _usd("margin_pv_usd", "Margin at present value by payment date (provider rate)", "higher",
         "provider_economics", unit="USD at the start of plan year 0"),
    _usd("cash_net_usd", "Net cash in the year (by payment date)", "higher",
         "provider_economics"),
    _usd("settlement_paid_usd", "Reconciliation cash paid in the year", "higher",
         "provider_economics", unit="USD per year, negative: repaid to the payer"),
    _usd("cash_after_horizon_usd", "The plan's money paid after its horizon", "neither",
         "provider_economics", unit="USD (last plan year only)"),
    Metric("quality_score", "points, 0-100", "Quality score", "higher", "provider_economics", key=True),
    Metric("attributed_person_years", "person-years", "Attributed person-years", "neither",
           "provider_economics"),
    # revenue cycle (sim.settlement.revenue_cycle; zero with revenue_cycle off)
    Metric("denial_rate", "share of submitted claims", "Claims denied at first submission",
           "lower", "provider_economics", share=True),
    _usd("written_off_usd", "Denied claims written off (never paid)", "lower",
         "provider_economics"),
    _usd("rework_cost_usd", "Cost of reworking denied claims", "lower", "provider_economics"),
    _usd("radv_recovery_usd", "RADV recovery repaid to the payer", "lower",
         "provider_economics", unit="USD per payment year (extrapolated audit finding)"),
    Metric("hcc_recapture_rate", "share of present chronic conditions coded",
           "Chronic conditions coded (recapture)", "neither", "provider_economics",
           share=True),
    Metric("days_in_ar", "days", "Days in accounts receivable (claims)", "lower",
           "provider_economics"),
    # ---- payer economics (settlement), per payer and for the population
    _usd("payer_spend_usd", "Payer spending", "lower", "payer_economics"),
    Metric("payer_person_years", "person-years", "Payer's person-years", "neither",
           "payer_economics"),
    _usd("payer_spend_per_capita_usd", "Payer spending per capita", "lower", "payer_economics",
         unit=USD_PY, key=True),
    _usd("health_sector_cost_usd", "Health-sector cost", "lower", "payer_economics",
         unit="USD per year (care at the payer's prices without transfers, plus providers' "
         "effort and investment costs)"),
    # ---- risk over the plan (statistics across replications of a provider's results)
    _usd("margin_npv_usd", "Net present value of the margin", "higher", "risk",
         unit="USD over the plan"),
    Metric("p_negative_margin", "share of replications", "Probability of a loss over the plan",
           "lower", "risk", share=True),
    Metric("p_cumulative_loss", "share of replications",
           "Probability of being in the red at some year end", "lower", "risk", share=True),
    Metric("p_owing", "share of replications", "Probability of owing the payer over the plan",
           "lower", "risk", share=True),
    _usd("margin_var95", "VaR95 of the plan-total margin (5th percentile)", "higher", "risk",
         unit="USD over the plan"),
    _usd("margin_cvar95", "CVaR95 of the plan-total margin (mean of the worst 5%)", "higher",
         "risk", unit="USD over the plan"),
)

#: Declared metrics by name, in reporting order within each stage.
CATALOGUE: dict[str, Metric] = {m.name: m for m in _ENTRIES}

#: Families of metrics: ``*`` in the name stands for the varying part, ``{}`` in the labels.
FAMILIES: tuple[Metric, ...] = (
    Metric("lever_*", "setting", "Lever: {}", "neither", "behaviour",
           sentence="the {} lever"),
    Metric("incentive_*_usd", "USD per year per unit of the lever", "Incentive: {}",
           "neither", "behaviour", money=True,
           sentence="the marginal net revenue of the {} lever"),
)

if len(CATALOGUE) != len(_ENTRIES):  # pragma: no cover - a duplicate declaration
    raise RuntimeError("a metric is declared twice in sim.catalogue")


def _family_part(family: Metric, name: str) -> str | None:
    prefix, suffix = family.name.split("*")
    if name.startswith(prefix) and name.endswith(suffix) and len(name) > len(prefix + suffix):
        return name[len(prefix): len(name) - len(suffix)]
    return None


def _guess(name: str) -> Metric:
    """A description of an undeclared metric, from the unit suffix of its name."""
    lower = name.lower()
    money = "usd" in lower or "pmpm" in lower
    share = lower.endswith(("_share", "_rate_30d"))
    stem = name
    for suffix in ("_usd", "_per_1000", "_share"):
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
    unit = (USD_YEAR if lower.endswith("_usd") else PER_1000 if lower.endswith("_per_1000")
            else "share" if share or lower.endswith("_rate") else "")
    return Metric(name, unit, stem.replace("_", " ").capitalize(), "neither", "population",
                  money=money, share=share, known=False)


def describe(name: str) -> Metric:
    """The catalogue's entry for metric ``name`` (a family member with its labels filled
    in; an undeclared name: a guess from its unit suffix, with ``known=False``)."""
    if name in CATALOGUE:
        return CATALOGUE[name]
    for family in FAMILIES:
        part = _family_part(family, name)
        if part is not None:
            words = part.replace("_", " ")
            return replace(family, name=name, label=family.label.format(words),
                           sentence=family.sentence.format(words))
    return _guess(name)


def is_known(name: str) -> bool:
    """Whether ``name`` is declared (by name or as a member of a family)."""
    return describe(name).known


def key_metrics() -> tuple[str, ...]:
    """The metrics of the key view (spending, use, quality, money, settlement), in order."""
    return tuple(m.name for m in _ENTRIES if m.key)


def metric_names(stage: Stage) -> tuple[str, ...]:
    """The declared metrics a stage computes, in reporting order (families left out)."""
    return tuple(m.name for m in _ENTRIES if m.stage == stage)


def metric_label(name: str) -> str:
    """Short label: ``"admissions_per_1000"`` -> ``"Hospital admissions"``."""
    return describe(name).label


def sentence_label(name: str) -> str:
    """How ``name`` is called within a sentence: ``"hospital admissions"``."""
    return describe(name).sentence


def metric_unit(name: str) -> str:
    """Unit of ``name`` (``""`` when unknown)."""
    return describe(name).unit


def is_money(name: str) -> bool:
    """Whether ``name`` is in US dollars."""
    return describe(name).money


def is_share(name: str) -> bool:
    """Whether ``name`` is a share between 0 and 1 (shown as a percentage)."""
    return describe(name).share


def lower_is_better(name: str) -> bool:
    """Whether smaller values of ``name`` are better (the catalogue's direction)."""
    return describe(name).better == "lower"
