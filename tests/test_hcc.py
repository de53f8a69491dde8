"""The prospective CMS-HCC score (sim.coding.hcc): hand-computed cases of hierarchy,
coefficients, blend, normalisation, timing and demographics."""

from __future__ import annotations

import numpy as np
import pytest

from sim.coding import hcc
from sim.scenario.schema import RiskScore, Scenario

S = hcc.STATE_INDEX
V24 = hcc.load_tables()["V24"]
V28 = hcc.load_tables()["V28"]


def one(codes: dict[str, int]) -> np.ndarray:
    out = np.zeros((1, len(hcc.STATES)), np.int8)
    for name, level in codes.items():
        out[0, S[name]] = level
    return out


def demo(age=67.0, female=True, segment=hcc.NON_DUAL, od=False) -> hcc.Demographics:
    return hcc.Demographics(np.array([age]), np.array([female]), np.array([segment]),
                            np.array([od]))


def hccs(codes: np.ndarray, table: hcc.ModelTable) -> set[int]:
    m = hcc.hcc_matrix(codes, table)[0]
    return {h for h, on in zip(table.hccs, m, strict=True) if on}


def test_published_coefficients_are_loaded():
    # CMS-HCC V24 community non-dual aged (CY2020 Rate Announcement) and V28 (CY2024).
    assert V24.coef["HCC85"][0] == 0.331 and V24.coef["HCC18"][0] == 0.302
    assert V24.coef["HCC19"][0] == 0.105 and V24.coef["F65_69"][0] == 0.323
    assert V28.coef["HCC37"][0] == V28.coef["HCC38"][0] == 0.166  # constrained in V28
    assert V28.coef["HCC226"][1] == 0.406  # full-benefit dual aged


def test_hierarchy_drops_the_lower_hcc():
    m = np.zeros((1, len(V24.hccs)), bool)
    col = {h: i for i, h in enumerate(V24.hccs)}
    m[0, col[18]] = m[0, col[19]] = m[0, col[137]] = m[0, col[138]] = m[0, col[85]] = True
    out = hcc.apply_hierarchy(m, V24)[0]
    on = {h for h, x in zip(V24.hccs, out, strict=True) if x}
    assert on == {18, 85, 137}


def test_specificity_and_model_version_decide_the_hcc():
    spec = one({"diabetes_chronic_complications": hcc.SPECIFIC, "ckd_stage_3": hcc.SPECIFIC})
    unspec = one({"diabetes_chronic_complications": hcc.UNSPECIFIED,
                  "ckd_stage_3": hcc.UNSPECIFIED})
    assert hccs(spec, V24) == {18, 138} and hccs(unspec, V24) == {19}  # E11.9; N18.9: none
    assert hccs(spec, V28) == {37, 329} and hccs(unspec, V28) == {38}
    # V28 dropped vascular disease without complications (V24 HCC108).
    vasc = one({"vascular": hcc.SPECIFIC})
    assert hccs(vasc, V24) == {108} and hccs(vasc, V28) == set()


def test_score_by_hand():
    # Woman 67, non-dual: F65_69 0.323 + HCC18 0.302 + HCC85 0.331 + DIABETES_CHF 0.121
    # + HCC111 0.335 + CHF_gCopdCF 0.155 (3 payment HCCs: D3 = 0).
    codes = one({"diabetes_chronic_complications": hcc.SPECIFIC,
                 "heart_failure": hcc.SPECIFIC, "copd": hcc.UNSPECIFIED})
    raw = hcc.raw_scores(codes, demo())
    assert raw["V24"][0] == pytest.approx(0.323 + 0.302 + 0.331 + 0.121 + 0.335 + 0.155)
    # V28: F65_69 0.330 + HCC37 0.166 + HCC226 0.360 + HCC280 0.319 + DIABETES_HF 0.112
    # + HF_CHR_LUNG 0.078.
    assert raw["V28"][0] == pytest.approx(0.330 + 0.166 + 0.360 + 0.319 + 0.112 + 0.078)


def test_demographics_segments_and_originally_disabled():
    none = one({})
    # Man 86, full-benefit dual, originally disabled: CFA M85_89 1.000 + OD male 0.182.
    d = demo(age=86.0, female=False, segment=hcc.FULL_DUAL, od=True)
    assert hcc.raw_scores(none, d)["V24"][0] == pytest.approx(1.000 + 0.182)
    # Partial dual woman 95+: CPA F95_GT 0.873 (V24).
    d = demo(age=97.0, segment=hcc.PARTIAL_DUAL)
    assert hcc.raw_scores(none, d)["V24"][0] == pytest.approx(0.873)
    assert list(hcc.age_sex_cell(np.array([64.0, 65.0, 69.9, 70.0, 99.0]),
                                 np.array([True] * 5))) == [0, 0, 0, 1, 6]


def test_payment_hcc_count_adds_its_factor():
    names = ["diabetes_uncomplicated", "heart_failure", "copd", "arrhythmia",
             "major_depression", "rheumatoid_arthritis"]
    codes = one({n: hcc.SPECIFIC for n in names})
    raw = hcc.raw_scores(codes, demo())["V24"][0]
    parts = (0.323 + 0.105 + 0.331 + 0.335 + 0.268 + 0.309 + 0.421
             + 0.121 + 0.155 + 0.085  # DIABETES_CHF, CHF_gCopdCF, HCC85_HCC96
             + 0.077)  # D6
    assert raw == pytest.approx(parts)


def test_blend_by_payment_year_and_normalisation():
    assert hcc.v28_share(2024) == 0.33 and hcc.v28_share(2025) == 0.67
    assert hcc.v28_share(2026) == 1.0 and hcc.v28_share(2031) == 1.0
    assert hcc.v28_share(2019) == 0.0
    raw = {"V24": np.array([0.5, 1.5]), "V28": np.array([1.0, 3.0])}
    norms = hcc.normalisers(raw, np.array([1.0, 1.0]))
    assert norms == {"V24": 1.0, "V28": 2.0}
    assert hcc.blend(raw, norms, 0.67) == pytest.approx([0.5, 1.5])
    with pytest.raises(ValueError, match="v28_phase_in"):
        RiskScore(v28_phase_in_years=[2024], v28_phase_in_shares=[1.5])
    with pytest.raises(ValueError, match="v28_phase_in"):
        RiskScore(v28_phase_in_years=[2025, 2024], v28_phase_in_shares=[0.5, 1.0])
    assert RiskScore().v28_phase_in == {2023: 0.0, 2024: 0.33, 2025: 0.67, 2026: 1.0}


def test_documentation_needs_an_encounter_and_follows_the_rates():
    n = 20_000
    truth = np.zeros((n, len(hcc.STATES)), bool)
    truth[:, S["heart_failure"]] = True
    truth[:, S["diabetes_uncomplicated"]] = True
    enc = np.arange(n) % 2 == 0
    rates = hcc.CodingRates(*(np.full(n, x) for x in (0.8, 0.6, 0.1, 0.0)))
    u = np.random.default_rng(3).random((n, len(hcc.STATES), 3))
    codes = hcc.document(truth, enc, rates, u)
    assert (codes[~enc] == hcc.NOT_CODED).all()
    hf = codes[enc, S["heart_failure"]]
    # Binomial: 10,000 patients, SD of a share <= 0.005; tolerance 4 SD. Heart failure is
    # documented more reliably than the provider's rate (hcc.RECAPTURE_MISS).
    p_hf = 1.0 - hcc.RECAPTURE_MISS["heart_failure"] * (1.0 - 0.8)
    assert np.mean(hf != hcc.NOT_CODED) == pytest.approx(p_hf, abs=0.02)
    assert np.mean(hf[hf != hcc.NOT_CODED] == hcc.SPECIFIC) == pytest.approx(0.6, abs=0.02)
    upcoded = codes[enc, S["diabetes_chronic_complications"]] == hcc.UNSUPPORTED
    p_dm = 1.0 - hcc.RECAPTURE_MISS["diabetes"] * (1.0 - 0.8)
    assert np.mean(upcoded) == pytest.approx(p_dm * 0.1, abs=0.01)
    # The upcoded patient keeps its documented lower code: the hierarchy drops it from
    # the score, a record review falls back to it.
    assert (codes[enc, S["diabetes_uncomplicated"]][upcoded] != hcc.NOT_CODED).all()
    d = hcc.Demographics(np.full(n, 70.0), np.ones(n, bool), np.zeros(n, np.int8),
                         np.zeros(n, bool))
    view = hcc.radv_view(codes, d, {"V24": 1.0, "V28": 1.0}, 0.0)
    # Upcoded diabetics: HCC18 coded, HCC19 supported: same count, 0.302 - 0.105 of score.
    up = np.flatnonzero(enc)[upcoded & (hf != hcc.NOT_CODED)]
    assert (view["coded_n"][up] == view["supported_n"][up]).all()
    assert view["unsupported_score"][up] == pytest.approx(0.302 - 0.105 + 0.121 - 0.121)


def test_expected_score_matches_the_mean_of_drawn_scores():
    n = 4000
    rng = np.random.default_rng(5)
    conditions = rng.random((n, 5)) < 0.3
    truth = hcc.true_states(conditions, rng.standard_normal(n),
                            rng.standard_normal((n, len(hcc.LIABILITIES))))
    d = hcc.Demographics(rng.uniform(65, 95, n), rng.random(n) < 0.5,
                         rng.integers(0, 3, n).astype(np.int8), rng.random(n) < 0.1)
    rates = hcc.coding_rates(np.full(n, 0.5), RiskScore())
    p_enc = np.full(n, 0.9)
    exp = hcc.expected_raw_scores(truth, p_enc, rates, d)
    drawn = {m: 0.0 for m in hcc.MODELS}
    reps = 20
    for _ in range(reps):
        codes = hcc.document(truth, rng.random(n) < p_enc, rates,
                             rng.random((n, len(hcc.STATES), 3)))
        for m, r in hcc.raw_scores(codes, d).items():
            drawn[m] += r.mean() / reps
    for m in hcc.MODELS:  # 80,000 draws, SD of the mean ~0.001; tolerance ~5 SD
        assert exp[m].mean() == pytest.approx(drawn[m], abs=0.005)


def test_prospective_timing_score_of_y_uses_codes_of_y_minus_1():
    keeper = hcc.ScoreKeeper(RiskScore(), calendar0=2026, n=1)  # 2026: 100% V28
    truth = np.zeros((1, len(hcc.STATES)), bool)
    truth[0, S["heart_failure"]] = True
    u = np.full((1, len(hcc.STATES), 3), 0.5)  # documented and specific at intensity 0
    keeper.document_year(truth, np.array([True]), np.zeros(1), u)  # year -1: documented
    # Plan year 0 scores year -1's codes: F65_69 0.330 + HCC226 0.360 (provisional scale:
    # the same patient at reference coding, so 1.0), final once plan year 0 closes.
    assert keeper.score(0, 0, demo())[0] == pytest.approx(1.0)
    assert keeper.pending[0][0]["V28"][0] == pytest.approx(0.69)
    assert keeper.normalise(np.ones(1))[0][0] == pytest.approx(1.0)
    keeper.document_year(truth, np.array([False]), np.zeros(1), u)  # year 0: no encounter
    # Plan year 1's score has lost the heart failure: demographics only.
    assert keeper.score(1, 1, demo())[0] == pytest.approx(0.330 / 0.69)


def test_default_scenario_migrates_and_legacy_is_still_available():
    sc = Scenario()
    assert sc.risk_score.model == "cms_hcc"
    legacy = Scenario.model_validate({"risk_score": {"model": "legacy_concurrent"}})
    assert legacy.risk_score.other_morbidity_weight == 0.35
    with pytest.raises(ValueError, match="dual"):
        Scenario.model_validate({"population": {"dual_full_share": 0.7,
                                                "dual_partial_share": 0.5}})


def test_behaviour_interpolation_matches_the_exact_expectation():
    from sim.behaviour.expected import HccSample

    n = 300
    rng = np.random.default_rng(8)
    conditions = rng.random((n, 5)) < 0.3
    age = rng.uniform(65, 95, n)
    hs = HccSample(female=rng.random(n) < 0.5, segment=np.zeros(n, np.int8),
                   orig_disabled=np.zeros(n, bool),
                   draws=rng.standard_normal((n, len(hcc.LIABILITIES))),
                   z=rng.standard_normal(n), norms={"V24": 1.1, "V28": 1.2}, w28=0.67)
    sc = Scenario()
    p_enc = np.full(n, 0.9)
    args = (conditions, age, p_enc, np.zeros(n, np.int64), np.ones(n), 1)
    hs.risk_by_payer(sc, 0.0, *args)
    truth = hcc.true_states(conditions, hs.z, hs.draws)
    demo_ = hcc.Demographics(age, hs.female, hs.segment, hs.orig_disabled)
    for c in (0.13, 0.37, 0.81):
        exact = hcc.blend(hcc.expected_raw_scores(
            truth, p_enc, hcc.coding_rates(np.full(n, c), sc.risk_score), demo_),
            hs.norms, hs.w28).mean()
        assert hs.risk_by_payer(sc, c, *args)[0] == pytest.approx(exact, rel=1e-4)
