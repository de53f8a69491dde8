"""Claims kept by ``--save-claims`` and their CCLF-like export (``vbcsim claims``).

One tiny real run (200 patients, 2 plan years, 2 replications) keeps the claims of
replication 1 only; a second run of the same scenario and seed keeps none. The export's
money is checked against the results table that the same replication computed from its own
ledger while it ran (``spend_total_usd`` per plan year), to the cent.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from sim.claims_export import ClaimsExportError, export_claims
from sim.claims_export.cclf import COLUMNS
from sim.claims_saving import parse_save_claims
from sim.cli import main
from sim.runner import run_scenarios
from sim.scenario import scenario_from_dict
from sim.services import Service

TINY = {"name": "tiny", "population": {"size": 200}, "horizon_years": 2, "replications": 2,
        "seed": 7}


@pytest.fixture(scope="session")
def kept(tmp_path_factory):
    """(results dir with the claims of replication 1 kept, its RunResult, one without)."""
    base = tmp_path_factory.mktemp("claims")
    sc = scenario_from_dict(dict(TINY), "<tiny>")
    with_claims = run_scenarios([sc], workers=1, progress=False, out=base / "with",
                                save_claims="1")
    without = run_scenarios([sc], workers=1, progress=False, out=base / "without")
    return base / "with", with_claims, base / "without", without


@pytest.fixture(scope="session")
def exported(kept, tmp_path_factory):
    path = kept[0]
    out = tmp_path_factory.mktemp("cclf") / "out"
    export_claims(path, out)
    folder = out / "tiny" / "rep_1"
    return {f.stem: pd.read_csv(f, dtype=str, keep_default_na=False)
            for f in sorted(folder.glob("*.csv"))}, out


def test_parse_save_claims():
    assert parse_save_claims(None) is False
    assert parse_save_claims("") == frozenset({0})
    assert parse_save_claims("all") is None
    assert parse_save_claims("0,3") == frozenset({0, 3})
    for bad in ("x", "-1", ","):
        with pytest.raises(ValueError, match="save_claims"):
            parse_save_claims(bad)


def test_claims_kept_per_replication_listed_with_checksums(kept):
    path, result, _, _ = kept
    folder = path / "claims" / "tiny"
    assert sorted(p.name for p in folder.iterdir()) == ["rep_1"]  # only the chosen one
    manifest = json.loads((path / "manifest.json").read_text())
    saved = manifest["saved_claims"]
    assert set(saved) <= set(manifest["files"])
    assert "claims/tiny/rep_1/claims.parquet" in saved
    import hashlib
    for rel, digest in saved.items():
        assert hashlib.sha256((path / rel).read_bytes()).hexdigest() == digest, rel
    # the claims never reach the combined tables (memory stays bounded)
    assert not any(n.startswith("claims") for n in result.tables)


def test_saving_claims_changes_no_result(kept):
    _, with_claims, _, without = kept
    pd.testing.assert_frame_equal(with_claims.results, without.results)


def test_off_by_default_writes_nothing(kept):
    path = kept[2]
    assert not (path / "claims").exists()
    manifest = json.loads((path / "manifest.json").read_text())
    assert "saved_claims" not in manifest
    assert not any(f.startswith("claims") for f in manifest["files"])


def test_columns_are_the_cclf_fields(exported):
    files, _ = exported
    assert sorted(files) == ["CCLF1", "CCLF2", "CCLF3", "CCLF4", "CCLF5", "CCLF6", "CCLF8"]
    for name, frame in files.items():
        assert list(frame.columns) == COLUMNS[name], name
    for field in ("CUR_CLM_UNIQ_ID", "BENE_MBI_ID", "CLM_FROM_DT", "CLM_THRU_DT",
                  "CLM_PMT_AMT", "CLM_TYPE_CD", "PRVDR_OSCAR_NUM", "DGNS_DRG_CD"):
        assert field in files["CCLF1"].columns
    assert "CLM_LINE_HCPCS_CD" in files["CCLF5"].columns
    assert set(files["CCLF1"]["CLM_TYPE_CD"]) <= {"10", "20", "40", "60"}
    assert set(files["CCLF5"]["CLM_TYPE_CD"]) == {"71"}
    assert set(files["CCLF6"]["CLM_TYPE_CD"]) <= {"82"}


def _year(claim_id: pd.Series) -> np.ndarray:
    return (claim_id.astype(np.int64).to_numpy() // 10**10) % 100


def test_rows_and_payments_match_the_ledger_of_the_replication(kept, exported):
    path, result, _, _ = kept
    files, _ = exported
    raw = pd.read_parquet(path / "claims" / "tiny" / "rep_1" / "claims.parquet")
    stays = pd.read_parquet(path / "claims" / "tiny" / "rep_1" / "stays.parquet")
    paid = [(files["CCLF1"], "CLM_PMT_AMT"), (files["CCLF5"], "CLM_LINE_CVRD_PD_AMT"),
            (files["CCLF6"], "CLM_LINE_CVRD_PD_AMT")]
    # every ledger claim is in exactly one file
    assert sum(len(f) for f, _ in paid) == len(raw)
    ids = pd.concat([f["CUR_CLM_UNIQ_ID"] for f, _ in paid])
    assert ids.is_unique
    res = result.results
    spend = res[(res["replication"] == 1) & (res["metric"] == "spend_total_usd")]
    assert len(spend) == 2
    for _, row in spend.iterrows():
        year = int(row["year"])
        total = sum(f[col].astype(float)[_year(f["CUR_CLM_UNIQ_ID"]) == year].sum()
                    for f, col in paid)
        assert total == pytest.approx(row["value"], abs=0.005)  # to the cent
    # one acute inpatient header and one diagnosis row per hospital stay of the plan years
    # (an inpatient rehabilitation stay after joint replacement is type 60 too: post-acute)
    c1 = files["CCLF1"]
    inpatient = c1[(c1["CLM_TYPE_CD"] == "60") & (c1["BENE_PTNT_STUS_CD"] != "")]
    irf = c1[(c1["CLM_TYPE_CD"] == "60") & (c1["BENE_PTNT_STUS_CD"] == "")]
    assert len(irf) == int(stays["irf"].sum())
    assert len(inpatient) == len(stays)
    assert (inpatient["VBCSIM_STAY_GROUP"] != "").all()  # every stay found
    # CCLF4: every diagnosis of every Part A claim, sequence 1 the header's principal
    c4 = files["CCLF4"]
    assert set(c4["CUR_CLM_UNIQ_ID"]) == set(c1.loc[c1["PRNCPL_DGNS_CD"] != "",
                                                    "CUR_CLM_UNIQ_ID"])
    first = c4[c4["CLM_VAL_SQNC_NUM"] == "1"].set_index("CUR_CLM_UNIQ_ID")["CLM_DGNS_CD"]
    assert first.to_dict() == c1.set_index("CUR_CLM_UNIQ_ID").loc[first.index,
                                                                  "PRNCPL_DGNS_CD"].to_dict()
    assert set(inpatient["CUR_CLM_UNIQ_ID"]) <= set(c4["CUR_CLM_UNIQ_ID"])
    # CCLF2: one revenue line per Part A claim, same money
    c2 = files["CCLF2"]
    assert len(c2) == len(c1) and set(c2["CUR_CLM_UNIQ_ID"]) == set(c1["CUR_CLM_UNIQ_ID"])
    assert c2["CLM_LINE_CVRD_PD_AMT"].astype(float).sum() == pytest.approx(
        c1["CLM_PMT_AMT"].astype(float).sum(), abs=0.005)
    # CCLF3: the procedure of each surgical stay (elective stays are surgical)
    elective = inpatient[inpatient["CLM_ADMSN_TYPE_CD"] == "3"]
    assert set(files["CCLF3"]["CUR_CLM_UNIQ_ID"]) == set(elective["CUR_CLM_UNIQ_ID"])
    # professional claims are the professional services of the ledger
    professional = {s for s in Service if s.name.endswith("PROFESSIONAL")} | {
        Service.PCP_VISIT, Service.SPECIALIST_VISIT, Service.LAB}
    assert len(files["CCLF5"]) == int(raw["service"].isin([int(s) for s in professional]).sum())
    assert len(files["CCLF6"]) == int((raw["service"] == Service.OTHER).sum())
    # service dates lie in the plan years (first calendar year 2025 by default)
    for f in ("CCLF1", "CCLF5", "CCLF6"):
        dates = pd.to_datetime(files[f]["CLM_FROM_DT"])
        assert dates.min() >= pd.Timestamp("2024-12-01") and dates.max() < pd.Timestamp("2027")


def test_codes_in_their_columns_and_in_the_shipped_code_sets(exported):
    """Every code written is one of the shipped tables (sim/coding/data) and sits in the
    CCLF column for it."""
    from sim.claims_export import cclf
    from sim.coding.codes import CODE_COLUMNS, code_sets

    assert list(cclf.CODE_COLUMNS) == CODE_COLUMNS  # the export reads what the coder writes
    files, _ = exported
    sets = code_sets()
    c1, c5 = files["CCLF1"], files["CCLF5"]
    assert (c5["CLM_LINE_HCPCS_CD"] != "").all()  # every professional line has a HCPCS
    assert set(c5["CLM_LINE_HCPCS_CD"]) <= sets["hcpcs"]
    assert set(files["CCLF6"]["CLM_LINE_HCPCS_CD"]) <= sets["hcpcs"]
    assert set(files["CCLF2"]["CLM_LINE_HCPCS_CD"]) - {""} <= sets["hcpcs"]
    assert set(c5["CLM_POS_CD"]) <= sets["pos"]
    assert set(files["CCLF2"]["CLM_LINE_PROD_REV_CTR_CD"]) <= sets["revenue_center"]
    assert (files["CCLF2"]["CLM_LINE_PROD_REV_CTR_CD"] != "").all()
    dx = set(files["CCLF4"]["CLM_DGNS_CD"]) | set(c5["CLM_LINE_DGNS_CD"]) | set(
        c1["PRNCPL_DGNS_CD"])
    for k in range(1, 9):
        dx |= set(c5[f"CLM_DGNS_{k}_CD"])
    assert dx - {""} <= sets["icd10cm"]
    assert (c1["PRNCPL_DGNS_CD"] != "").all() and (c5["CLM_LINE_DGNS_CD"] != "").all()
    acute = c1[(c1["CLM_TYPE_CD"] == "60") & (c1["BENE_PTNT_STUS_CD"] != "")]
    assert len(acute) and set(acute["DGNS_DRG_CD"]) <= sets["msdrg"]
    assert set(files["CCLF3"]["CLM_PRCDR_CD"]) <= sets["icd10pcs"]
    # the E/M office visits carry office place of service codes
    em = c5["CLM_LINE_HCPCS_CD"].str.match(r"^992(0[2-5]|1[2-5])$")
    assert set(c5.loc[em, "CLM_POS_CD"]) <= {"11", "19", "22"}


def test_claims_saved_before_coding_still_export(kept):
    """Claims kept by an older vbcsim (no code columns) export with the code fields empty
    and the family's representative MS-DRG."""
    from sim.claims_export.cclf import CODE_COLUMNS, cclf_tables

    folder = kept[0] / "claims" / "tiny" / "rep_1"
    claims = pd.read_parquet(folder / "claims.parquet").drop(columns=list(CODE_COLUMNS))
    stays = pd.read_parquet(folder / "stays.parquet")
    stays = stays[[c for c in stays.columns if not c.startswith("code_")]]
    out = cclf_tables(claims, stays, pd.read_parquet(folder / "beneficiaries.parquet"),
                      pd.read_parquet(folder / "providers.parquet"), 2025)
    assert (out["CCLF5"]["CLM_LINE_HCPCS_CD"] == "").all()
    assert (out["CCLF1"]["PRNCPL_DGNS_CD"] == "").all()
    assert len(out["CCLF4"]) == len(stays) and (out["CCLF4"]["CLM_DGNS_CD"] == "").all()
    assert len(out["CCLF3"]) == 0


def test_synthetic_ids_stable_and_non_identifying(kept, exported, tmp_path):
    files, _ = exported
    again = tmp_path / "again"
    export_claims(kept[0], again)
    for name, frame in files.items():
        other = pd.read_csv(again / "tiny" / "rep_1" / f"{name}.csv", dtype=str,
                            keep_default_na=False)
        pd.testing.assert_frame_equal(frame, other)  # the same ids every time
    mbi = re.compile(r"^S\d{10}$")  # a real MBI starts with 1-9 and never holds an S
    for name in ("CCLF1", "CCLF5", "CCLF6", "CCLF8"):
        assert files[name]["BENE_MBI_ID"].str.match(mbi).all(), name
    assert files["CCLF8"]["BENE_MBI_ID"].is_unique
    assert set(files["CCLF5"]["BENE_MBI_ID"]) <= set(files["CCLF8"]["BENE_MBI_ID"])
    assert files["CCLF1"]["PRVDR_OSCAR_NUM"].str.match(r"^SYN\d{3}$").all()
    for col in ("BENE_1ST_NAME", "BENE_MIDL_NAME", "BENE_LAST_NAME", "BENE_ZIP_CD",
                "BENE_HIC_NUM"):
        assert (files["CCLF8"][col] == "").all(), col
    assert files["CCLF8"]["BENE_SEX_CD"].isin(["1", "2"]).all()


def test_parquet_export_and_choices(kept, tmp_path):
    path = kept[0]
    written = export_claims(path, tmp_path / "pq", parquet=True, replications=[1],
                            scenario="tiny")
    assert sorted(f.name for f in written) == [f"CCLF{i}.parquet"
                                               for i in (1, 2, 3, 4, 5, 6, 8)]
    header = pd.read_parquet(tmp_path / "pq" / "tiny" / "rep_1" / "CCLF1.parquet")
    assert header["CLM_PMT_AMT"].dtype == np.float64
    assert pd.api.types.is_datetime64_any_dtype(header["CLM_FROM_DT"])
    with pytest.raises(ClaimsExportError, match="--save-claims 0,1"):
        export_claims(path, tmp_path / "x", replications=[0])
    with pytest.raises(ClaimsExportError, match="no claims of scenario 'other'"):
        export_claims(path, tmp_path / "y", scenario="other")


def test_damaged_file_refused(kept, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(kept[0], copy)
    target = copy / "claims" / "tiny" / "rep_1" / "claims.parquet"
    target.unlink()  # a hard link: replace, never write through it
    target.write_bytes(b"not parquet")
    with pytest.raises(ClaimsExportError, match="SHA-256"):
        export_claims(copy, tmp_path / "out")


def test_cli_claims_errors_say_how_to_get_them(kept, tmp_path, capsys):
    assert main(["claims", str(kept[2]), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "no simulated claims" in err and "--save-claims" in err
    assert main(["claims", str(tmp_path / "missing"), "--out", str(tmp_path / "o")]) == 2
    assert "no such directory" in capsys.readouterr().err
    assert main(["claims", str(kept[0]), "--out", str(tmp_path / "o"), "--format",
                 "cclf"]) == 0
    assert (tmp_path / "o" / "tiny" / "rep_1" / "CCLF5.csv").is_file()
    assert "Wrote 7 file(s)" in capsys.readouterr().out
    assert main(["claims", str(kept[0]), "--out", str(tmp_path / "o")]) == 2
    assert "not empty" in capsys.readouterr().err


def test_save_claims_needs_a_results_directory():
    from sim.run_setup import OverrideError

    sc = scenario_from_dict(dict(TINY), "<tiny>")
    with pytest.raises(OverrideError, match="results directory"):
        run_scenarios([sc], workers=1, progress=False, save_claims="all")


def test_kept_claims_survive_an_interrupted_run_and_resume(tmp_path, monkeypatch):
    import sim.claims_saving
    from sim.replication import simulate_replication
    from sim.runner import ReplicationError

    def failing(scenario, replication, seed_seq, **kw):
        if replication == 1:
            raise RuntimeError("killed")
        return simulate_replication(scenario, replication, seed_seq, **kw)

    sc = scenario_from_dict(dict(TINY), "<tiny>")
    out = tmp_path / "run"
    monkeypatch.setattr(sim.claims_saving, "simulate_replication", failing)
    with pytest.raises(ReplicationError):
        run_scenarios([sc], workers=1, progress=False, out=out, save_claims="all")
    assert (out / "claims" / "tiny" / "rep_0" / "claims.parquet").is_file()  # written at once
    assert not (out / "claims" / "tiny" / "rep_1").exists()
    monkeypatch.setattr(sim.claims_saving, "simulate_replication", simulate_replication)
    run_scenarios([sc], workers=1, progress=False, out=out, resume=True, save_claims="all")
    manifest = json.loads((out / "manifest.json").read_text())
    assert {"claims/tiny/rep_0/claims.parquet", "claims/tiny/rep_1/claims.parquet"} <= set(
        manifest["saved_claims"])
    assert len(export_claims(out, tmp_path / "cclf", parquet=True)) == 14
