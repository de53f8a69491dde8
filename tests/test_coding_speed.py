"""The faster forms of issue 16 in sim.coding are the doubles (and codes) of the plain forms
they replace, on random inputs: visit ranks from the patients (``normal_scores_of``), E/M
levels by comparison with the cuts, documentation of the true states only, NumPy's
pairwise row sum column by column, the raw score from the transposed HCC matrix."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import ndtri
from scipy.stats import rankdata

from sim.coding import fees, hcc
from sim.scenario.schema import RiskScore

# ---------------------------------------------------------------- fees


def test_normal_scores_of_patients_are_rankdatas_of_the_visits():
    rng = np.random.default_rng(0)
    for trial in range(60):
        n_pat = int(rng.integers(1, 400))
        score = (rng.choice(rng.lognormal(0, 0.5, max(1, n_pat // 4)), n_pat) if trial % 2
                 else rng.lognormal(0, 0.5, n_pat))
        if trial % 5 == 0:
            score[: n_pat // 2] = 1.0  # many ties
        pid = rng.integers(0, n_pat, int(rng.integers(0, 3_000)))
        want = (ndtri((rankdata(score[pid]) - 0.5) / len(pid)) if len(pid)
                else np.zeros(0))
        got = fees.normal_scores_of(score, pid)
        assert got.tobytes() == want.tobytes(), trial
    # NaN: rankdata's NaN everywhere
    got = fees.normal_scores_of(np.array([1.0, np.nan, 2.0]), np.array([0, 1, 2, 2]))
    assert np.isnan(got).all()


def test_level_index_is_searchsorted():
    rng = np.random.default_rng(1)
    cuts = fees._cuts(fees.em_reference_shares("specialist"))
    x = np.concatenate([rng.normal(0, 2, 5_000), cuts, [np.nan, np.inf, -np.inf]])
    np.testing.assert_array_equal(fees._level_index(cuts, x), np.searchsorted(cuts, x))


def test_visit_amounts_with_known_normal_scores_are_the_same():
    rng = np.random.default_rng(2)
    risk = rng.lognormal(0, 0.5, 800)
    pid = rng.integers(0, 800, 4_000)
    intensity = rng.uniform(0, 1, 4_000)
    prov = rng.integers(0, 3, 4_000)
    plain = fees.visit_amounts("pcp", 100.0, risk[pid], intensity, np.random.default_rng(3),
                               0.1, 0.35, prov)
    fast = fees.visit_amounts("pcp", 100.0, None, intensity, np.random.default_rng(3), 0.1,
                              0.35, prov, normal_scores=fees.normal_scores_of(risk, pid))
    assert fast.tobytes() == plain.tobytes()
    with pytest.raises(ValueError, match="needs the visits' scores"):
        fees.visit_amounts("pcp", 100.0, None, intensity, rng, 0.1, 0.35)


# ---------------------------------------------------------------- HCC


def _document_plain(truth, encounter, rates, u):
    """hcc.document as it was (commit 150cf05): every state decided densely."""
    doc = truth & encounter[:, None] & (u[..., 0] < hcc.state_recapture(rates.recapture))
    spec = u[..., 1] < rates.specificity[:, None]
    codes = doc.astype(np.int8)
    codes += doc & spec
    for j in np.flatnonzero(hcc.UPCODE_TO >= 0):
        up = doc[:, j] & (u[:, j, 2] < rates.unsupported)
        codes[up, hcc.UPCODE_TO[j]] = hcc.UNSUPPORTED
    for cols in hcc.family_columns():
        absent = ~truth[:, cols].any(axis=1) & encounter
        first = cols[-1]
        ghost = absent & (u[:, first, 2] < rates.phantom)
        codes[ghost, first] = hcc.UNSUPPORTED
    return codes


@pytest.mark.parametrize("contiguous", [True, False])
def test_document_is_the_dense_forms_codes(contiguous):
    rng = np.random.default_rng(4)
    n, k = 3_000, len(hcc.STATES)
    truth = rng.random((n, k)) < 0.2
    encounter = rng.random(n) < 0.8
    u = rng.random((n, k, 3), dtype=np.float32)
    if not contiguous:  # a strided view
        u = np.asfortranarray(u)
    for intensity in (np.zeros(n), rng.uniform(0, 1, n)):
        rates = hcc.coding_rates(intensity, RiskScore())
        want = _document_plain(truth, encounter, rates, u)
        got = hcc.document(truth, encounter, rates, u)
        assert got.dtype == np.int8 and np.array_equal(got, want)
        fam = hcc.truth_families(truth)
        assert np.array_equal(fam, np.stack([truth[:, c].any(axis=1)
                                             for c in hcc.family_columns()], axis=1))
        assert np.array_equal(hcc.document(truth, encounter, rates, u, fam), want)


@pytest.mark.parametrize("m", [1, 5, 7, 8, 9, 15, 16, 17, 18, 24, 31, 64, 130])
def test_row_sum_is_numpys_row_sum(m):
    rng = np.random.default_rng(m)
    a = np.exp(rng.normal(0, 6, (2_000, m))) * (rng.random((2_000, m)) < 0.6)
    a[:, 0] *= np.where(rng.random(2_000) < 0.1, -1.0, 1.0)
    want = np.sum(a, axis=1)
    got = hcc._row_sum([np.ascontiguousarray(a[:, j]) for j in range(m)], 2_000)
    assert got.tobytes() == want.tobytes()


def test_raw_score_is_the_matrix_forms():
    rng = np.random.default_rng(6)
    n, k = 2_500, len(hcc.STATES)
    codes = rng.choice(4, size=(n, k), p=[0.8, 0.07, 0.08, 0.05]).astype(np.int8)
    demo = hcc.Demographics(age=rng.uniform(60.0, 100.0, n), female=rng.random(n) < 0.55,
                            segment=rng.integers(0, 3, n), orig_disabled=rng.random(n) < 0.1)
    for only in (False, True):
        for m, table in hcc.load_tables().items():
            mat = hcc.hcc_matrix(codes, table, only)
            hcc_coef, count_coef, inter = hcc._score_terms(table)
            seg = demo.segment
            want = hcc.demographic_score(table, demo.age, demo.female, seg,
                                         demo.orig_disabled)
            want = want + np.sum(mat * hcc_coef[seg], axis=1)
            for name, a, b in inter:
                want = want + np.where(mat[:, a].any(axis=1) & mat[:, b].any(axis=1),
                                       table.coef[name][seg], 0.0)
            want = want + count_coef[seg, np.minimum(mat.sum(axis=1), 10)]
            got = hcc.raw_score(table, mat, demo.age, demo.female, seg, demo.orig_disabled)
            assert got.tobytes() == want.tobytes(), (m, only)
            assert hcc.raw_scores(codes, demo, only)[m].tobytes() == want.tobytes()
    # new arrays (another panel's segments and ages) are not mistaken for the kept ones
    seg2 = (demo.segment + 1) % 3
    demo2 = hcc.Demographics(age=demo.age + 5.0, female=demo.female, segment=seg2,
                             orig_disabled=demo.orig_disabled)
    table = hcc.load_tables()["V28"]
    mat = hcc.hcc_matrix(codes, table)
    hcc_coef = hcc._score_terms(table)[0]
    got = hcc.raw_score(table, mat, demo2.age, demo2.female, seg2, demo2.orig_disabled)
    base = hcc.demographic_score(table, demo2.age, demo2.female, seg2, demo2.orig_disabled)
    np.testing.assert_allclose(got - base, hcc.raw_score(
        table, mat, demo2.age, demo2.female, seg2, demo2.orig_disabled) - base)
    assert not np.allclose(got, hcc.raw_score(table, mat, demo.age, demo.female, demo.segment,
                                              demo.orig_disabled))
    assert np.sum(mat * hcc_coef[seg2], axis=1).shape == (n,)
