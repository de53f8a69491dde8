"""The faster code paths of a replication (issue 16 item 4) give the same numbers, bit for
bit, as the plain forms they replace: checked here on random inputs (cheap, no simulation).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.attribution import _plurality_sparse, plurality
from sim.care.fast import _Waiting
from sim.care.leakage import _blend
from sim.contracts.statement import Line, Statement, statements_frame
from sim.settlement.engine import Settlement, _Flows, _kahan


def test_kahan_sum_is_pandas_groupby_sum() -> None:
    rng = np.random.default_rng(0)
    for trial in range(200):
        n = int(rng.integers(1, 60))
        kinds = rng.choice(["a", "b", "c"], n)
        scale = 10.0 ** rng.integers(-3, 9, n)
        amount = rng.normal(0, 1, n) * scale
        expected = pd.DataFrame({"kind": kinds, "amount_usd": amount}).groupby(
            "kind")["amount_usd"].sum()
        for k, v in expected.items():
            got = _kahan(amount[kinds == k].tolist())
            assert got == v or (np.isnan(got) and np.isnan(v)), (trial, k, got, v)


def test_flows_by_kind_matches_groupby_per_target() -> None:
    rng = np.random.default_rng(1)
    rows = [(int(rng.integers(0, 3)), str(rng.choice(["p", "q"])), str(rng.choice(["x", "y"])),
             float(rng.normal(0, 1e6)), str(rng.choice(["ffs_claims", "capitation"])), "c",
             float(rng.random() * 4)) for _ in range(300)]
    timed = pd.DataFrame(rows, columns=["year", "source", "target", "amount_usd", "kind",
                                        "contract", "paid_t"])
    fl = _Flows(rows)
    for year in range(3):
        for name in ("x", "y"):
            rec = timed[(timed["year"] == year) & (timed["target"] == name)]
            mask = (fl.year == year) & (fl.target == fl.entity(name))
            assert fl.by_kind(mask) == rec.groupby("kind")["amount_usd"].sum().to_dict()
            assert float(fl.amount[mask].sum()) == float(rec["amount_usd"].sum())


def test_settlements_table_is_the_concatenation_of_statement_frames() -> None:
    def st(i: int) -> Statement:
        return Statement(contract="mssp", lines=(Line("a", 1.5 * i, "n"), Line("b", -2.0)),
                         values={"x": float(i), "y": 0.25}, facts={"track": "E"},
                         payer_paid_usd=3.0 * i, provider_received_usd=3.0 * i)

    items = [(0, "L", "g", st(1)), (0, "L", "g", st(2)), (1, "M", "h", st(3))]
    settled = Settlement(rows=[], statements=items, flows=pd.DataFrame())
    seen: dict = {}
    frames = []
    for y, label, entity, s in items:
        k = seen[(y, label, entity)] = seen.get((y, label, entity), -1) + 1
        frames.append(statements_frame([s], year=y, label=label, entity=entity, statement=k,
                                       replication=4, scenario="sc"))
    expected = pd.concat(frames, ignore_index=True)
    pd.testing.assert_frame_equal(settled.statements_frame(replication=4, scenario="sc"),
                                  expected, check_exact=True)


def test_dense_plurality_equals_the_sorted_form() -> None:
    rng = np.random.default_rng(2)
    for trial in range(100):
        n_pat, n_prov, m = int(rng.integers(1, 200)), int(rng.integers(1, 8)), \
            int(rng.integers(0, 2000))
        pat, prov = rng.integers(0, n_pat, m), rng.integers(0, n_prov, m)
        amount = rng.choice([10.0, 20.0, 15.55, 0.004, 0.006], m)  # ties to the cent
        day = rng.choice([1.0, 2.0, 3.0], m)
        dense = plurality(pat, prov, amount, day, n_pat, n_prov)
        sparse = _plurality_sparse(pat, prov, amount, day, n_pat, n_prov,
                                   np.full(n_pat, -1, np.int64))
        assert np.array_equal(dense, sparse), trial


def test_waiting_stays_stay_in_stable_arrival_order() -> None:
    rng = np.random.default_rng(3)
    for trial in range(100):
        w, ref = _Waiting(), np.empty((4, 0))
        for _ in range(int(rng.integers(1, 6))):
            k = int(rng.integers(0, 20))
            arr = rng.choice(np.arange(10.0), k)  # many equal days
            los, pid, kind = rng.random(k), rng.integers(0, 1000, k), rng.integers(0, 5, k)
            w.add(arr, los, pid, kind)
            ref = np.concatenate([ref, np.stack([arr, los, pid.astype(float),
                                                 kind.astype(float)])], axis=1)
            ref = ref[:, np.argsort(ref[0], kind="stable")]
            assert np.array_equal(w.p, ref), trial
            if ref.shape[1] and rng.random() < 0.5:
                idx = np.unique(rng.integers(0, ref.shape[1], 3))
                w.drop(idx)
                ref = np.delete(ref, idx, axis=1)


def test_blend_of_a_rate_with_itself_is_exact() -> None:
    x = np.array([0.0, 1e-300, 0.5, 3.0, 1e300])
    for w in (0.0, 0.3, np.array([0.1, 0.2, 0.3, 0.4, 0.5])):
        assert _blend(x, x, w) is x
        assert np.array_equal(_blend(x, x.copy(), w), x)  # the formula gives the same
    neg_zero = np.array([-0.0, 1.0])
    assert _blend(neg_zero, neg_zero, 0.5) is not neg_zero  # -0 + 0 is +0: computed
