"""The speed-ups of issue 16 change no number: small fast-engine replications give the
ledgers and output tables pinned at c0b108d, before them (``fast_path/pinned.py``), and each
faster form equals the plain form it replaces on random inputs."""

from __future__ import annotations

import importlib.util
import json
import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest

from sim.coding import hcc
from sim.contracts.statement import Statement, StatementBuilder
from sim.scenario.schema import RiskScore

_spec = importlib.util.spec_from_file_location(
    "fast_path_pinned", Path(__file__).parent / "fast_path" / "pinned.py")
pinned = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pinned)


@pytest.mark.parametrize("case", pinned.CASES, ids=pinned.case_key)
def test_replication_reproduces_the_pinned_ledger_and_tables(case):
    stored = json.loads(pinned.PINNED.read_text())[pinned.case_key(case)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # below the ACO floor: a test size
        fresh = pinned.fingerprints(case)
    changed = sorted(k for k in stored if fresh.get(k) != stored[k])
    assert not changed, (f"{pinned.case_key(case)}: {changed} differ from "
                         "tests/care/fast_path/pinned.json (see pinned.py)")


# ---------------------------------------------------------------- the plain forms


def _hcc_matrix_plain(codes, table, supported_only=False):
    """hcc_matrix as it was: one column update per state and code level."""
    col = {h: i for i, h in enumerate(table.hccs)}
    out = np.zeros((codes.shape[0], len(table.hccs)), bool)
    for k, s in enumerate(hcc.STATES):
        spec, unspec = s.hcc[table.model]
        for level, h in ((hcc.SPECIFIC, spec), (hcc.UNSPECIFIED, unspec)) + (
                () if supported_only else ((hcc.UNSUPPORTED, spec),)):
            if h is not None:
                out[:, col[h]] |= codes[:, k] == level
    return hcc.apply_hierarchy(out, table)


@pytest.fixture(scope="module")
def panel():
    rng = np.random.default_rng(16)
    n, k = 2_000, len(hcc.STATES)
    codes = rng.choice(4, size=(n, k), p=[0.7, 0.1, 0.12, 0.08]).astype(np.int8)
    demo = hcc.Demographics(age=rng.uniform(60.0, 100.0, n), female=rng.random(n) < 0.55,
                            segment=rng.integers(0, 3, n), orig_disabled=rng.random(n) < 0.1)
    truth = rng.random((n, k)) < 0.15
    return rng, codes, demo, truth


def test_hcc_matrices_equal_the_plain_column_updates(panel):
    _, codes, _, _ = panel
    for table in hcc.load_tables().values():
        both = hcc.hcc_matrices(codes, table)
        for got, only in zip(both, (False, True), strict=True):
            want = _hcc_matrix_plain(codes, table, only)
            assert got.flags.c_contiguous and got.dtype == bool
            assert np.array_equal(got, want)
            assert np.array_equal(hcc.hcc_matrix(codes, table, only), want)


def test_radv_view_with_known_raw_scores_is_the_same(panel):
    _, codes, demo, _ = panel
    norms = {"V24": 1.02, "V28": 0.97}
    plain = hcc.radv_view(codes, demo, norms, 0.67)
    given = hcc.radv_view(codes, demo, norms, 0.67, hcc.raw_scores(codes, demo))
    for key, value in plain.items():
        assert np.array_equal(value, given[key]), key
    full = hcc.blend(hcc.raw_scores(codes, demo), norms, 0.67)
    sup = hcc.blend(hcc.raw_scores(codes, demo, supported_only=True), norms, 0.67)
    assert np.array_equal(plain["unsupported_score"], full - sup)


def test_expected_raw_scores_sparse_sums_equal_the_dense_product(panel):
    rng, _, demo, truth = panel
    n = len(truth)
    for intensity in (0.0, 0.4, 1.0):
        rates = hcc.coding_rates(np.full(n, intensity), RiskScore())
        p_enc = rng.random(n)
        got = hcc.expected_raw_scores(truth, p_enc, rates, demo)
        assert hcc._sparse("V24") is not None and hcc._sparse("V28") is not None
        levels = np.stack(hcc._expected_levels(truth, p_enc, rates))  # noqa: SLF001
        for m, t in hcc.load_tables().items():
            want = hcc._expected_dense(m, t, levels, demo)  # noqa: SLF001 - the plain form
            assert np.array_equal(got[m], want), (m, intensity)


def test_a_built_statement_equals_one_made_directly():
    b = StatementBuilder("mssp")
    b.line("benchmark", 1_000_000, "per capita x person-years")
    b.line("spending", np.float64(950_000.25))
    b.value("savings_rate", np.float64(0.05))
    b.value("quality_met", True)
    b.fact("track", "ENHANCED")
    built = b.build(12_345.5)
    direct = Statement("mssp", tuple(b.lines), dict(b.values), dict(b.facts), 12_345.5, 12_345.5)
    assert built == direct and built.to_dict() == direct.to_dict()
    assert type(built.values["quality_met"]) is float and type(built.payer_paid_usd) is float
    assert pickle.loads(pickle.dumps(built)) == built
    with pytest.raises(TypeError):
        built.values["savings_rate"] = 1.0  # type: ignore[index]
    b.value("later", 1.0)  # the builder goes on; the statement does not change
    assert "later" not in built.values
    with pytest.raises(ValueError, match="money does not add up"):
        b.build(100.0, 90.0)
    with pytest.raises(ValueError, match="money does not add up"):
        b.build(float("nan"))


def _document_plain(truth, encounter, rates, u):
    """hcc.document as it was (codes by np.where)."""
    doc = truth & encounter[:, None] & (u[..., 0] < hcc.state_recapture(rates.recapture))
    spec = u[..., 1] < rates.specificity[:, None]
    codes = np.where(doc, np.where(spec, hcc.SPECIFIC, hcc.UNSPECIFIED),
                     hcc.NOT_CODED).astype(np.int8)
    for j in np.flatnonzero(hcc.UPCODE_TO >= 0):
        codes[doc[:, j] & (u[:, j, 2] < rates.unsupported), hcc.UPCODE_TO[j]] = hcc.UNSUPPORTED
    for cols in hcc.family_columns():
        absent = ~truth[:, cols].any(axis=1) & encounter
        codes[absent & (u[:, cols[-1], 2] < rates.phantom), cols[-1]] = hcc.UNSUPPORTED
    return codes


def test_document_gives_the_plain_codes(panel):
    rng, _, _, truth = panel
    n = len(truth)
    u = rng.random((n, len(hcc.STATES), 3), dtype=np.float32)
    encounter = rng.random(n) < 0.8
    for intensity in (np.zeros(n), rng.random(n)):
        rates = hcc.coding_rates(intensity, RiskScore())
        got = hcc.document(truth, encounter, rates, u)
        assert got.dtype == np.int8 and got.flags.c_contiguous
        assert np.array_equal(got, _document_plain(truth, encounter, rates, u))
