"""Parsing (real and hand-written fixtures), deduplication, linking, build_records."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest

from ketamine_evidence.schemas.records import (
    RECORDS_SCHEMA,
    STUDIES_SCHEMA,
    read_table,
    write_table,
)
from ketamine_evidence.screening.io import build_records
from ketamine_evidence.screening.records import (
    RECORD_COLUMNS,
    RecordsError,
    parse_ctgov_json,
    parse_pubmed_xml,
)
from ketamine_evidence.sources.pubmed import RawFile
from ketamine_evidence.sources.snapshot import commit_retrieval, init_snapshot

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "tests" / "fixtures"
REAL = ROOT.parent / "shared" / "fixtures" / "real"
real = pytest.mark.skipif(not REAL.exists(), reason="shared real fixtures absent")


def fx(path):
    return (FIX / path).read_bytes()


# ------------------------------------------------------------------ real fixtures
@real
@pytest.mark.parametrize("name", sorted(p.name for p in REAL.glob("pubmed_efetch*.xml"))
                         if REAL.exists() else [])
def test_parse_every_real_efetch(name):
    records = parse_pubmed_xml((REAL / name).read_bytes(), name)
    assert records and all(r["pmid"].isdigit() and r["title"] for r in records)
    assert set(records[0]) == set(RECORD_COLUMNS)


@real
def test_real_databank_and_abstract_nct():
    rec = parse_pubmed_xml(
        (REAL / "pubmed_efetch_biomcp_22663011_rct_databank_NCT01245062.xml").read_bytes())[0]
    assert rec["pmid"] == "22663011" and rec["nct_ids_si"] == "NCT01245062"
    assert rec["registry_ids"] == "ClinicalTrials.gov:NCT01245062"
    assert rec["doi"] == "10.1056/nejmoa1203421" and rec["year"] == 2012
    assert "Randomized Controlled Trial" in rec["publication_types"]
    assert rec["abstract"].startswith("BACKGROUND: Activating mutations")
    rec = parse_pubmed_xml(
        (REAL / "pubmed_efetch_pubmedparser_29768149_rct_databank_NCT02149199.xml").read_bytes())[0]
    assert rec["nct_ids_si"] == "NCT02149199"


@real
def test_real_structured_abstract_without_nlmcategory():
    rec = parse_pubmed_xml(
        (REAL / "pubmed_efetch_biopython_pubmed4_structured_abstract.xml").read_bytes())[0]
    assert "OBJECTIVE:" in rec["abstract"] and "CONCLUSIONS:" in rec["abstract"]


@real
@pytest.mark.parametrize("name", sorted(p.name for p in REAL.glob("ctgov_*.json"))
                         if REAL.exists() else [])
def test_parse_every_real_ctgov(name):
    records = parse_ctgov_json((REAL / name).read_bytes(), name)
    assert records and all(r["nct_id"].startswith("NCT") for r in records)


@real
def test_real_ctgov_references_and_missing_modules():
    rec = parse_ctgov_json((REAL / "ctgov_v2_study_aact_NCT02552212.json").read_bytes())[0]
    assert rec["ref_pmids_result"] == "35296532;35733363"
    assert rec["ref_pmids_derived"] == "34715908;30848558"
    assert rec["has_results"] is True and rec["allocation"] == "RANDOMIZED"
    rec = parse_ctgov_json((REAL / "ctgov_v2_study_aact_NCT03418623.json").read_bytes())[0]
    assert rec["ref_pmids_background"] == "23032071" and rec["ref_pmids_result"] is None
    assert rec["has_results"] is False
    # fields-restricted answer: no designInfo, no hasResults
    rec = parse_ctgov_json((REAL / "ctgov_v2_biomcp_get_nct06382129_20260811.json").read_bytes())[0]
    assert rec["allocation"] is None and rec["has_results"] is None


# ------------------------------------------------------------------ hand-written fixtures
def test_synthetic_pubmed_fields():
    a, b, c = parse_pubmed_xml(fx("pubmed/efetch_synthetic_3records.xml"))
    assert a["title"] == "Repeated ketamine infusions for chronic PTSD: a randomized trial"
    assert a["pmcid"] == "PMC9000001" and a["doi"] == "10.9999/synth.2021.001"
    assert a["registry_ids"] == "ClinicalTrials.gov:NCT90000001;ISRCTN:ISRCTN12345678"
    assert a["nct_ids_si"] == "NCT90000001" and a["nct_ids_abstract"] == "NCT90000001"
    assert "CO2 unaffected" in a["abstract"] and a["first_author"] == "Alpha"
    assert "Humans" in a["mesh_terms"]
    assert b["year"] == 2023 and b["doi"] == "10.9999/synth.2023.002"  # MedlineDate, ELocationID
    assert b["nct_ids_si"] is None and b["nct_ids_abstract"] == "NCT90000002"
    assert c["publication_types"] == "Review;Systematic Review"


@pytest.mark.parametrize("name,match", [
    ("efetch_truncated.xml", "not well-formed"),
    ("efetch_malformed.xml", "not well-formed"),
    ("efetch_entity_bomb.xml", "refused unsafe XML"),
    ("efetch_external_entity.xml", "refused unsafe XML"),
    ("efetch_missing_pmid.xml", "no PMID"),
])
def test_bad_pubmed_xml_is_refused_with_file_name(name, match):
    with pytest.raises(RecordsError, match=f"{name}: .*{match}|{name}: {match}"):
        parse_pubmed_xml(fx(f"pubmed/{name}"), name)


def test_empty_and_sparse_pubmed():
    assert parse_pubmed_xml(fx("pubmed/efetch_empty.xml")) == []
    rec = parse_pubmed_xml(fx("pubmed/efetch_missing_optional.xml"))[0]
    assert rec["pmid"] == "90000012" and rec["doi"] is None and rec["abstract"] is None


@pytest.mark.parametrize("name,match", [("study_truncated.json", "not valid JSON"),
                                        ("study_missing_nct.json", "no valid")])
def test_bad_ctgov_json(name, match):
    with pytest.raises(RecordsError, match=match):
        parse_ctgov_json(fx(f"ctgov/{name}"), name)


def test_ctgov_empty_page():
    assert parse_ctgov_json(fx("ctgov/search_empty.json")) == []


# ------------------------------------------------------------------ build_records
KNOWN = """report_id,record_type,pmid,nct_id,doi,other_registry_id,first_author,year,title,journal,study_id,found_via,source_url,decision,reason_code,reason_text,question
KR001,publication,90000001,,10.9999/synth.2021.001,,Alpha,2021,Repeated ketamine,J,alpha2021,list,u,include,include,rct,treatment
KR002,publication,,,10.9999/OTHER.1,,Beta,2022,Secondary analysis of the ketamine PTSD trial,J,alpha2021,list,u,include,include,secondary,treatment
KR003,review,,,,,Gamma,2020,A review,J,,list,u,exclude,review,review,treatment
"""


@pytest.fixture
def snapshot(tmp_path):
    root = tmp_path / "snapshot"
    init_snapshot(root, dt.date(2026, 11, 27))
    files = [
        RawFile("pubmed/efetch_w01_b0001.xml", fx("pubmed/efetch_synthetic_3records.xml"),
                "pubmed", "efetch"),
        RawFile("ctgov/search_p001.json", fx("ctgov/search_synthetic_p1.json"), "ctgov",
                "search"),
        RawFile("ctgov/search_p002.json", fx("ctgov/search_synthetic_p2.json"), "ctgov",
                "search"),
        RawFile("ctgov/study_NCT90000001.json", fx("ctgov/study_synthetic_NCT90000001.json"),
                "ctgov", "study"),
    ]
    commit_retrieval(root, files, {}, now=dt.datetime(2026, 11, 27, tzinfo=dt.UTC))
    curated = tmp_path / "curated"
    curated.mkdir()
    (curated / "known_reports.csv").write_text(KNOWN)
    return root, curated


def test_build_records_dedup_and_links(snapshot):
    records, studies = build_records(*snapshot, {})
    r = records.set_index("record_id")
    assert list(records["source"].unique()) == ["pubmed", "ctgov", "other"]
    # KR001 is the same report as PMID:90000001 (PMID and DOI): kept record is the PubMed one
    assert r.loc["KR001", "is_duplicate"] and r.loc["KR001", "duplicate_of"] == "PMID:90000001"
    assert r.loc["PMID:90000001", "cluster_size"] == 2
    assert not r.loc["PMID:90000001", "is_duplicate"]
    # the paper and its registration: linked into one study, not duplicates
    assert not r.loc["NCT90000001", "is_duplicate"]
    assert r.loc["NCT90000001", "study_id"] == "alpha2021" == r.loc["PMID:90000001", "study_id"]
    assert "pubmed_si:NCT90000001" in r.loc["PMID:90000001", "link_provenance"]
    assert "ctgov_result:PMID:90000001" in r.loc["NCT90000001", "link_provenance"]
    assert r.loc["KR002", "study_id"] == "alpha2021"  # linked by the curator's study_id
    # abstract-only NCT (no SI): lower-confidence link, flagged
    assert r.loc["PMID:90000002", "link_provenance"] == "abstract_regex:NCT90000002"
    assert r.loc["PMID:90000002", "study_id"] == "auto_nct90000002"
    # search-page-only study (no full record) still a record
    assert r.loc["NCT90000003", "snapshot_file"].endswith("ctgov/search_p002.json")
    s = studies.set_index("study_id")
    assert s.loc["alpha2021", "nct_ids"] == "NCT90000001"
    assert set(s.loc["alpha2021", "record_ids"].split(";")) == {
        "PMID:90000001", "NCT90000001", "KR001", "KR002"}


def test_tables_round_trip(snapshot, tmp_path):
    records, studies = build_records(*snapshot, {})
    write_table(records, tmp_path / "r.csv", RECORDS_SCHEMA)
    write_table(studies, tmp_path / "s.csv", STUDIES_SCHEMA)
    back = read_table(tmp_path / "r.csv", RECORDS_SCHEMA)
    pd.testing.assert_frame_equal(back, records, check_dtype=False)
    read_table(tmp_path / "s.csv", STUDIES_SCHEMA)


def test_read_table_rejects_bad_values(snapshot, tmp_path):
    records, _ = build_records(*snapshot, {})
    records.loc[0, "source"] = "scopus"
    with pytest.raises(Exception, match="source"):
        write_table(records, tmp_path / "r.csv", RECORDS_SCHEMA)


def test_known_reports_problems_named(snapshot):
    root, curated = snapshot
    (curated / "known_reports.csv").write_text(KNOWN.replace("KR003,review", "KR003,book"))
    with pytest.raises(RecordsError, match="KR003.*record_type: 'book'"):
        build_records(root, curated, {})


def test_tampered_snapshot_stops_build(snapshot):
    root, curated = snapshot
    manifest = json.loads((root / "manifest.json").read_text())
    path = root / manifest["files"][0]["path"]
    path.write_bytes(path.read_bytes() + b" ")
    with pytest.raises(Exception, match="efetch_w01_b0001.xml"):
        build_records(root, curated, {})


def test_repository_snapshot_and_curated_list_build():
    """The committed snapshot plus the curator's list build cleanly (when the list exists)."""
    if not (ROOT / "data" / "raw" / "known_reports.csv").exists():
        pytest.skip("known_reports.csv not written yet")
    records, studies = build_records(ROOT / "data" / "raw" / "snapshot", ROOT / "data" / "raw")
    assert records["record_id"].is_unique and len(studies) >= 1
