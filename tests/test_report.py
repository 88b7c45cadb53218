"""Tests of the HTML report, built from small hand-made inputs."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from ketamine_evidence import report


def _png(text: str) -> bytes:
    fig = Figure(figsize=(4, 2), dpi=60)  # no pyplot: no backend or global state needed
    ax = fig.subplots()
    ax.text(0.5, 0.5, text, ha="center")
    ax.set_axis_off()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


CONFIG = {
    "review": {"title": "Ketamine for PTSD: test review", "intervention": "ketamine",
               "population": "people with PTSD", "condition": "PTSD"},
    "search": {"date_from": "1990/01/01", "date_to": None,
               "pubmed": {"term": "ketamine[tiab] AND PTSD[tiab]"},
               "ctgov": {"conditions": ["PTSD"], "interventions": ["ketamine"]}},
    "eligibility": {"population_terms": ["ptsd"], "intervention_terms": ["ketamine"]},
    "analysis": {
        "method": "REML", "test": "knha", "level": 0.95, "pi_df": None, "crossover_r": 0.5,
        "crossover_r_sensitivity": [0.2, 0.8],
        "smd_benchmarks": {"small": 0.2, "medium": 0.5, "large": 0.8},
        "analyses": [
            {"id": "ptsd_smd_end", "title": "PTSD severity at end (SMD)",
             "outcome": "ptsd_severity", "measure": "SMD", "window_days": [1, 35],
             "pick": "latest"},
            {"id": "ptsd_rom_end", "title": "PTSD severity at end (ROM)",
             "outcome": "ptsd_severity", "measure": "ROM", "window_days": [1, 35],
             "pick": "latest"},
            {"id": "ptsd_smd_followup", "title": "PTSD severity at follow-up (SMD)",
             "outcome": "ptsd_severity", "measure": "SMD", "window_days": [36, 730],
             "pick": "latest"},
        ],
    },
}


def _claims() -> pd.DataFrame:
    base = {"population": "adults with PTSD", "timepoint": "end of treatment",
            "tau2": 0.01, "q_pvalue": 0.2, "pi_status": "straddles", "narrative_studies": "",
            "comparator_estimate": None, "comparator_ci_low": None,
            "comparator_ci_high": None, "within_arm_reduction": ""}
    rows = [
        dict(base, claim_id="C1a", text="a 60-100% reduction in symptoms",
             quote="These trials report a 60-100% reduction <b>in symptoms</b>.",
             outcome="PTSD severity", analysis_id="ptsd_rom_end", metric="percent_reduction",
             claimed_low=60, claimed_high=100, k=3, n_participants=120, estimate=18.4,
             ci_low=6.1, ci_high=29.2, pi_low=-10.2, pi_high=41.0, i2=35.2, high_rob_k=1,
             some_concerns_rob_k=1, verdict="contradicted",
             verdict_reason="CI 6 to 29 lies entirely below 60",
             within_arm_reduction="Within ketamine arms, symptoms fell 40% to 62%."),
        dict(base, claim_id="C2", text="rapid relief", quote="rapid relief",
             outcome="PTSD severity", analysis_id="ptsd_smd_end", metric="smd",
             claimed_low=None, claimed_high=0, k=3, n_participants=120, estimate=-0.52,
             ci_low=-0.91, ci_high=-0.13, pi_low=-1.4, pi_high=0.3, i2=12.0, high_rob_k=0,
             some_concerns_rob_k=2, verdict="supported", verdict_reason="CI below 0"),
        dict(base, claim_id="C6", text="border on miraculous", quote="miraculous",
             outcome="PTSD severity", analysis_id="ptsd_smd_end", metric="smd",
             claimed_low=None, claimed_high=-0.8, k=3, n_participants=120, estimate=-0.52,
             ci_low=-0.91, ci_high=-0.13, pi_low=-1.4, pi_high=0.3, i2=12.0, high_rob_k=0,
             some_concerns_rob_k=2, verdict="inconclusive", verdict_reason="CI straddles -0.8"),
        dict(base, claim_id="C4", text="could stop PTSD from coming back", quote="coming back",
             outcome="relapse", analysis_id="ptsd_smd_followup", metric="smd",
             claimed_low=None, claimed_high=0, k=0, n_participants=None, estimate=None,
             ci_low=None, ci_high=None, pi_low=None, pi_high=None, i2=None, high_rob_k=None,
             some_concerns_rob_k=None, verdict="no_evidence", pi_status="not_estimable",
             verdict_reason="no poolable trial", narrative_studies="Feder 2021;Smith 2020"),
    ]
    return pd.DataFrame(rows)


def _pooled() -> pd.DataFrame:
    common = {"outcome": "ptsd_severity", "k": 3, "n_participants": 120, "tau2": 0.012,
              "tau2_ci_low": 0.0, "tau2_ci_high": 0.4, "i2": 12.04, "h2": 1.14, "q": 2.3,
              "q_df": 2, "q_pvalue": 0.3166, "method": "REML", "test": "knha",
              "studies": "Feder 2014; Feder 2021; Abdallah 2022", "egger_pvalue": 0.41,
              "trimfill_k0": 0}
    return pd.DataFrame([
        dict(common, analysis_id="ptsd_smd_end", title="PTSD severity at end (SMD)",
             measure="SMD", estimate=-0.5249, se=0.1, ci_low=-0.9133, ci_high=-0.1299,
             pi_low=-1.4, pi_high=0.3, pvalue=0.00042),
        dict(common, analysis_id="ptsd_rom_end", title="PTSD severity at end (ROM)",
             measure="ROM", estimate=-0.2033, se=0.05, ci_low=-0.3453, ci_high=-0.0629,
             pi_low=-0.5, pi_high=0.1, pvalue=0.0213),
    ])


def _study_effects() -> pd.DataFrame:
    return pd.DataFrame([
        {"analysis_id": "ptsd_smd_end", "study_id": "feder2014", "label": "Feder 2014",
         "comparison": "ketamine 0.5 mg/kg vs midazolam", "instrument": "IES-R",
         "timepoint": "24 h", "yi": -0.61, "vi": 0.08, "ci_low": -1.16, "ci_high": -0.06,
         "weight": 0.5, "source_id": "PMID:24740528", "location": "table 2",
         "derivation": "SD from SE", "assumption": "crossover r = 0.5"},
        {"analysis_id": "ptsd_smd_end", "study_id": "feder2021", "label": "Feder 2021",
         "comparison": "ketamine vs midazolam", "instrument": "CAPS-5",
         "timepoint": "week 2", "yi": -1.1, "vi": 0.15, "ci_low": -1.86, "ci_high": -0.34,
         "weight": 0.5, "source_id": "NCT02397889", "location": "registry results",
         "derivation": "", "assumption": ""},
        {"analysis_id": "ptsd_rom_end", "study_id": "feder2021", "label": "Feder 2021",
         "comparison": "ketamine vs midazolam", "instrument": "CAPS-5",
         "timepoint": "week 2", "yi": -0.2, "vi": 0.01, "ci_low": -0.4, "ci_high": 0.0,
         "weight": 100, "source_id": "https://example.org/paper?x=1&y=2",
         "location": "figure 2", "derivation": "", "assumption": ""},
    ])


def _characteristics() -> pd.DataFrame:
    return pd.DataFrame([
        {"study_id": "feder2014", "label": "Feder 2014", "question": "treatment",
         "pmids": "24740528", "nct_ids": "NCT00749203", "design": "crossover",
         "washout_days": 14, "randomised": "yes", "blinding": "double-blind",
         "population": "civilians", "setting": "outpatient", "country": "USA",
         "treatment_resistant": "no", "intervention": "ketamine 0.5 mg/kg IV",
         "drug": "ketamine", "dose_mg_per_kg": 0.5, "route": "IV", "n_infusions": 1,
         "control": "midazolam", "cointervention": "none", "n_randomised_intervention": 41,
         "n_randomised_control": 41, "n_randomised_total": 41,
         "primary_outcome": "IES-R at 24 h", "source_id": "PMID:24740528",
         "location": "methods", "notes": ""},
        {"study_id": "mcghee2008", "label": "McGhee 2008", "question": "prevention",
         "pmids": "18452627", "nct_ids": "", "design": "parallel", "randomised": "no",
         "population": "burned service members", "control": "no ketamine",
         "source_id": "PMID:18452627", "location": "abstract"},
    ])


def _rob() -> pd.DataFrame:
    rows = []
    for domain, judgement in [("D1", "low"), ("D2", "some_concerns"), ("D3", "low"),
                              ("D4", "low"), ("D5", "high"), ("overall", "high")]:
        rows.append({"study_id": "feder2014", "outcome": "ptsd_severity", "domain": domain,
                     "judgement": judgement,
                     "justification": f"{domain}: as reported <script>alert(1)</script>",
                     "source_id": "PMID:24740528", "location": "methods",
                     "assessor": "AB", "date": "2026-01-01"})
    return pd.DataFrame(rows)


def _full_inputs() -> report.ReportInputs:
    figures = {name: _png(name) for name in (
        "forest_ptsd_smd_end", "funnel_ptsd_smd_end", "leave1out_ptsd_smd_end",
        "cumulative_ptsd_smd_end", "prisma", "rob_summary")}
    return report.ReportInputs(
        claims=_claims(),
        pooled=_pooled(),
        study_effects=_study_effects(),
        sensitivity=pd.DataFrame([
            {"analysis_id": "ptsd_smd_end", "kind": "leave1out", "label": "Feder 2014",
             "estimate": -0.8, "ci_low": -1.5, "ci_high": -0.1, "tau2": 0.0, "i2": 0.0},
            {"analysis_id": "ptsd_smd_end", "kind": "crossover_r", "label": "r = 0.2",
             "estimate": -0.5, "ci_low": -0.9, "ci_high": -0.1, "tau2": 0.01, "i2": 10.0},
        ]),
        screening=pd.DataFrame({"record_id": ["PMID:1", "PMID:2", "PMID:3"],
                                "decision": ["exclude", "exclude", "include"],
                                "reason_code": ["review", "animal", "include"],
                                "reason_text": ["", "", ""], "decided_by": ["rule"] * 3}),
        characteristics=_characteristics(),
        risk_of_bias=_rob(),
        not_poolable=pd.DataFrame([{
            "study": "Feder 2021", "outcome": "relapse", "timepoint": "follow-up",
            "reason": "narrative only", "narrative": "no significant difference",
            "source": "PMID:33726522"}]),
        registry_vs_publication=pd.DataFrame([{
            "study_id": "feder2021", "nct_id": "NCT02397889", "field": "primary outcome",
            "registry": "CAPS-5 week 2", "publication": "CAPS-5 week 2", "discrepancy": "none"}]),
        within_arm=pd.DataFrame([{"study_id": "feder2021", "outcome": "ptsd_severity",
                                  "percent_reduction": 61.7}]),
        prisma={"identification": {"pubmed": 120, "ctgov": 30, "other_methods": 5},
                "duplicates_removed": 20, "screened": 135, "included_studies": 4},
        manifest={"retrieved": "2026-08-11", "pubmed": {"count": 120, "query": "ketamine"}},
        config=CONFIG,
        versions={"python": "3.11.2", "pandas": "3.0.0", "ketamine-evidence": "0.1.0"},
        figures=figures,
        generated_on="2026-08-12",
    )


@pytest.fixture(scope="module")
def html() -> str:
    return report.build_report(_full_inputs())


def test_all_sections_present(html):
    for anchor in ("summary", "methods", "prisma", "studies", "rob", "analyses",
                   "sensitivity", "registry", "missing"):
        assert f'<section id="{anchor}">' in html
    assert 'id="summary-table"' in html
    assert "How verdicts are decided" in html


def test_verdict_badges_have_colour_class_and_text(html):
    for verdict, label in report.VERDICT_LABELS.items():
        assert re.search(rf'class="badge v-{verdict}">.*?{label}</span>', html), verdict
    # the summary row of C1a carries the contradicted badge
    row = html.split('id="claim-C1a"')[1].split("</tbody>")[0]
    assert "v-contradicted" in row and "Contradicted" in row
    assert "What it means:" in row and "so the trials contradict the claim" in row


def test_numbers_rounded_for_reading(html):
    row = html.split('id="claim-C1a"')[1].split("</tbody>")[0]
    assert "18%" in row and "6% to 29%" in row and "60% to 100%" in row and "35%" in row
    row = html.split('id="claim-C2"')[1].split("</tbody>")[0]
    assert "\u22120.52" in row and "\u22120.91 to \u22120.13" in row and "at most 0.00" in row
    # ROM pooled on the log scale is shown back-transformed: exp(-0.2033) = 0.82, 18% lower
    block = html.split('id="analysis-ptsd_rom_end"')[1]
    assert "0.82" in block and "18% lower than control" in block
    assert "&lt;0.001" in html  # p = 0.00042, escaped
    assert "0.317" in html  # Q p-value with 3 decimals


def test_links_to_pubmed_and_ctgov(html):
    assert 'href="https://pubmed.ncbi.nlm.nih.gov/24740528/"' in html
    assert 'href="https://clinicaltrials.gov/study/NCT00749203"' in html
    assert 'href="https://clinicaltrials.gov/study/NCT02397889"' in html
    assert 'href="https://example.org/paper?x=1&amp;y=2"' in html


def test_text_is_escaped(html):
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert "&lt;b&gt;in symptoms&lt;/b&gt;" in html


def test_no_external_resources(html):
    assert 'src="http' not in html
    assert not re.search(r"<link[^>]+href=\"http", html)
    assert "<script" not in html
    assert "@import" not in html and "url(http" not in html
    assert html.count('src="data:image/png;base64,') == 6


def test_content_of_sections(html):
    assert ("Not pooled (words only or numbers that cannot be pooled): Feder 2021; Smith 2020"
            in html)
    assert "uninformative with fewer than 10 studies" in html
    assert "Prevention trials (kept apart" in html and "McGhee 2008" in html
    assert "PTSD severity at follow-up (SMD)" in html.split('id="missing"')[1]  # no data
    assert "no significant difference" in html
    assert "Hartung-Knapp-Sidik-Jonkman" in html and "Q-profile" in html
    assert "restricted maximum likelihood" in html
    assert "2026-08-11" in html  # snapshot date from the manifest
    assert "Some concerns" in html and "Leave one study out" in html


def test_every_input_missing_says_so_plainly():
    html = report.build_report(report.ReportInputs())
    assert "No claims table" in html
    assert "No pooled analyses" in html
    assert "no database search has been recorded" in html
    assert "Incomplete inputs" in html
    assert "Figure not available" in html


def test_empty_tables_and_partial_rows():
    claims = _claims().iloc[[3]]  # only the no-evidence claim
    inputs = report.ReportInputs(claims=claims, pooled=pd.DataFrame(),
                                 study_effects=pd.DataFrame(columns=["analysis_id"]),
                                 sensitivity=pd.DataFrame(), prisma={}, config=CONFIG)
    html = report.build_report(inputs)
    assert "v-no_evidence" in html and "No randomised trial reported" in html
    # A claim reported only in words is inconclusive, and says what the words show.
    words = claims.assign(verdict="inconclusive",
                          direction_summary="2 trials: 0 favouring the intervention")
    html = report.build_report(report.ReportInputs(claims=words, pooled=pd.DataFrame(),
                                                   config=CONFIG))
    assert "cannot be pooled (Feder 2021; Smith 2020)" in html
    assert "cannot be judged from words" in html
    assert "results/pooled.csv</code> is empty" in html


def test_load_and_write_with_missing_and_empty_files(tmp_path: Path):
    results = tmp_path / "results"
    (results / "figures").mkdir(parents=True)
    _claims().to_csv(results / "claims.csv", index=False)
    _pooled().to_csv(results / "pooled.csv", index=False)
    (results / "study_effects.csv").write_text("")  # empty file
    (results / "figures" / "forest_ptsd_smd_end.png").write_bytes(_png("forest"))
    (results / "figures" / "prisma.png").write_bytes(b"")  # empty figure: ignored
    prisma = tmp_path / "prisma.json"
    prisma.write_text(json.dumps({"screened": 10}))
    inputs = report.load_report_inputs(
        claims=results / "claims.csv", pooled=results / "pooled.csv",
        study_effects=results / "study_effects.csv",
        sensitivity=results / "does_not_exist.csv", figures_dir=results / "figures",
        prisma=prisma, studies=None, screening=None, characteristics=None, risk_of_bias=None,
        not_poolable=None, registry_vs_publication=None, within_arm=None, manifest=None,
        config=CONFIG, versions={"python": "3.11"}, generated_on="2026-01-01")
    assert inputs.sensitivity is None and inputs.study_effects.empty
    out = report.write_report(inputs, tmp_path / "out" / "report.html")
    html = out.read_text(encoding="utf-8")
    assert "v-contradicted" in html
    assert html.count("data:image/png;base64,") == 1


def test_cli_writes_report(tmp_path: Path, monkeypatch):
    from ketamine_evidence.cli import report as cli_report
    monkeypatch.chdir(tmp_path)  # every default path is missing here
    out = tmp_path / "r" / "report.html"
    assert cli_report.main(["report", "--allow-missing", "--out", str(out)]) == 0
    assert "Summary of findings" in out.read_text(encoding="utf-8")


def test_formatting_helpers():
    assert report.fmt_p(0.0004) == "<0.001"
    assert report.fmt_p(0.0456) == "0.046"
    assert report.fmt_number(-0.004) == "0.00"
    assert report.fmt_number(-1.234) == "\u22121.23"
    assert report.fmt_percent(59.6) == "60%"
    assert report.fmt_claimed_range(None, -0.8, "smd") == "at most \u22120.80"
    assert report.fmt_claimed_range(60, 100, "percent_reduction") == "60% to 100%"
    assert report.source_links("PMID:1; NCT01234567")[1].href == (
        "https://clinicaltrials.gov/study/NCT01234567")
    assert report.source_links("journal website") == "journal website"


def test_prisma_columns_and_search_status():
    column = {"identified": 51, "duplicates_removed": 0, "records_screened": 51,
              "records_excluded": 0, "records_excluded_reasons": {},
              "reports_excluded": 32, "reports_excluded_reasons": {"review": 9, "wrong_design": 17},
              "reports_included": 19}
    search = {"status": "not_run", "as_of": "2026-11-27",
              "note": "No database search has been run yet."}
    prisma = {"prisma_version": "PRISMA 2020", "database_search": search,
              "databases_and_registers": {k: 0 for k in column}, "other_methods": column,
              "included": {"studies": 6, "reports": 19}}
    manifest = {"database_search": search,
                "sources": {"pubmed": {"status": "not_run", "query": None,
                                       "counts": {"records": 0}}}, "files": []}
    html = report.build_report(report.ReportInputs(prisma=prisma, manifest=manifest))
    prisma_part = html.split('id="prisma"')[1].split("</section>")[0]
    assert "Databases and registers" in prisma_part and "Other methods" in prisma_part
    assert "review 9; wrong design 17" in prisma_part
    assert "Database search not run." in prisma_part
    methods = html.split('id="methods"')[1].split("</section>")[0]
    assert "Database search: not run (as of 2026-11-27)." in methods
    assert "PubMed" in methods


def test_published_syntheses_shown_as_printed_and_checked(tmp_path):
    from ketamine_evidence import report

    path = tmp_path / "published_syntheses.csv"
    path.write_text(
        "synthesis_id,first_author,year,journal,n_studies,outcome,timepoint,measure,estimate,"
        "ci_low,ci_high,pvalue,conclusion,notes,source_id,location\n"
        "smith2024,Smith,2024,J Fake,6,PTSD symptoms,end,g,0.20,-0.08,0.48,,modest,"
        "bias-corrected,PMID:12345678,abstract\n")
    table = report.read_published_syntheses(path)
    assert table.loc[0, "estimate"] == "0.20"           # kept as printed, not 0.2
    html = report.build_report(report.ReportInputs(published_syntheses=table))
    assert "0.20 (-0.08 to 0.48)" in html
    assert "pubmed.ncbi.nlm.nih.gov/12345678" in html
    assert report.read_published_syntheses(tmp_path / "absent.csv") is None
    path.write_text("synthesis_id,outcome,estimate,ci_low,ci_high,source_id,location\n"
                    "x2020,PTSD,about 0.3,,,PMID:1,\n")
    with pytest.raises(ValueError, match=r"row 1 \(line 2; x2020\): location is empty\n.*estimate is not a number"):
        report.read_published_syntheses(path)


def test_published_synthesis_headings_never_show_the_internal_id(tmp_path):
    from ketamine_evidence import report

    path = tmp_path / "published_syntheses.csv"
    path.write_text(
        "synthesis_id,first_author,year,journal,outcome,estimate,ci_low,ci_high,source_id,location\n"
        "annpharm2024,,2024,Ann Pharmacother (2024;58:669),CAPS,,,,PMID:1,abstract\n"
        "mow_nd,Mowdawalla,,Research Square (preprint),CAPS,,,,PMID:2,abstract\n"
        "thesis_nd,,,thesis record on a library site (not a journal article),CAPS,,,,PMID:3,"
        "abstract\n"
        "anon_nd,,,,CAPS,,,,PMID:4,abstract\n")
    html = report.build_report(report.ReportInputs(
        published_syntheses=report.read_published_syntheses(path)))
    headings = re.findall(r"<h3[^>]*>([^<]*)", html.split('id="syntheses"')[1])
    assert [h.strip() for h in headings[:4]] == [
        "Ann Pharmacother 2024", "Mowdawalla n.d.", "Thesis record on a library site n.d.",
        "Review (author not recorded) n.d."]
    for key in ("annpharm2024", "mow_nd", "thesis_nd", "anon_nd"):
        assert key not in " ".join(headings)


def test_records_awaiting_a_reviewer_are_listed():
    from ketamine_evidence import report

    screening = pd.DataFrame({
        "record_id": ["pubmed:99"], "study_id": ["auto_pmid99"], "source": ["pubmed"],
        "record_type": ["publication"], "stage": ["full_text"], "decision": ["include"],
        "decided_by": ["rules"]})
    html = report.build_report(report.ReportInputs(screening=screening))
    assert "pubmed:99" in html and "automatic rules only" in html


def test_ongoing_and_awaiting_classification_are_listed_apart_from_exclusions():
    from ketamine_evidence import report

    screening = pd.DataFrame({
        "record_id": ["NCT00000001", "NCT00000002", "NCT00000003"],
        "study_id": ["a", "b", "c"], "source": ["other"] * 3,
        "record_type": ["registration"] * 3, "stage": ["full_text"] * 3,
        "decision": ["exclude"] * 3, "decided_by": ["curator"] * 3,
        "reason_code": ["ongoing_no_results", "awaiting_classification", "wrong_design"],
        "reason_text": ["RECRUITING to 2031-08-01", "COMPLETED 2025-10-07, no results",
                        "single group"]})
    html = report.build_report(report.ReportInputs(screening=screening))
    section = html.split("Ongoing studies and studies awaiting classification", 1)[1]
    section = section.split("<h3>", 1)[0]
    assert "RECRUITING to 2031-08-01" in section and "Awaiting classification" in section
    assert "NCT00000002" in section and "NCT00000003" not in section


def test_empty_inputs_are_noted_not_warned():
    html = report.build_report(report.ReportInputs(
        claims=_claims(), within_arm=pd.DataFrame(), registry_vs_publication=pd.DataFrame()))
    banner = html.split("Incomplete inputs", 1)[1].split("</p>", 1)[0]
    assert "within_arm.csv" not in banner
    assert "Inputs with no rows yet" in html and "within_arm.csv" in html


def test_moderator_rows_shown_per_analysis():
    moderators = pd.DataFrame({
        "analysis_id": ["a1", "a1"], "kind": ["subgroup", "metareg"],
        "moderator": ["control_type", "dose_mg_per_kg"], "term": ["", ""], "k": [1, 1],
        "estimate": [np.nan, np.nan], "se": [np.nan] * 2, "ci_low": [np.nan] * 2,
        "ci_high": [np.nan] * 2, "tau2": [np.nan] * 2, "statistic": [np.nan] * 2,
        "df": [np.nan] * 2, "pvalue": [np.nan] * 2,
        "note": ["not estimable: every study has control_type = 'active_placebo'",
                 "not estimable: needs 3 studies and 2 values"]})
    pooled = pd.DataFrame([{"analysis_id": "a1", "title": "T", "measure": "SMD", "k": 1,
                            "estimate": -1.0, "ci_low": -1.5, "ci_high": -0.5}])
    html = report.build_report(report.ReportInputs(pooled=pooled, moderators=moderators))
    assert "Subgroups and meta-regression planned in the protocol" in html
    assert "every study has control_type" in html and "dose_mg_per_kg" in html


def test_rob_table_uses_the_figure_symbols(html):
    """The report's RoB legend and cells use robvis' symbols, as the figure does: "−" is
    "some concerns" (never "high") and "×" is "high"."""
    section = html.split('<section id="rob">')[1].split("</section>")[0]
    legend = ("+ low, \N{MINUS SIGN} some concerns, \N{MULTIPLICATION SIGN} high, "
              "? no information")
    assert f"Judgements by domain ({legend})" in section
    assert re.search(r'rob-high"><span aria-hidden="true">\N{MULTIPLICATION SIGN}</span> High',
                     section)
    assert re.search(r'rob-some_concerns"><span aria-hidden="true">\N{MINUS SIGN}</span> Some',
                     section)
    assert "!" not in section.split("<table>")[1].split("</table>")[0]


REGISTRY_FACTS_HEADER = ("fact_id,study_id,nct_id,fact_type,registry_value,publication_value,"
                         "source_id,location,notes\n")


def _registry_facts() -> pd.DataFrame:
    return pd.DataFrame([
        {"fact_id": "RF001", "study_id": "feder2014", "nct_id": "NCT00749203",
         "fact_type": "primary_outcome_changed", "registry_value": "CAPS-5 at 90 days",
         "publication_value": "amygdala activation (fMRI)",
         "source_id": "https://clinicaltrials.gov/ct2/show/record/NCT00749203",
         "location": "registry history", "notes": "read 2026-11-30"},
        {"fact_id": "RF002", "study_id": "feder2014", "nct_id": "NCT00749203",
         "fact_type": "enrolment_differs", "registry_value": "enrollment 163",
         "publication_value": "158 randomised", "source_id": "NCT00749203",
         "location": "participant flow", "notes": ""},
    ])


def _registry_block(html: str) -> str:
    return html.split('<section id="registry">')[1].split("</section>")[0]


def test_registry_facts_shown_beside_the_automatic_comparison():
    inputs = _full_inputs()
    html = report.build_report(
        report.ReportInputs(**{**inputs.__dict__, "registry_facts": _registry_facts()}))
    block = _registry_block(html)
    curated, automatic = block.split("Automatic comparison of posted results")
    assert "Primary outcome changed" in curated and "Enrolment differs" in curated
    assert "CAPS-5 at 90 days" in curated and "amygdala activation (fMRI)" in curated
    assert "enrollment 163" in curated and "158 randomised" in curated
    assert "Feder 2014" in curated  # the study's label, not its internal id
    assert 'href="https://clinicaltrials.gov/study/NCT00749203"' in curated
    assert "registry history" in curated
    assert "CAPS-5 week 2" in automatic  # the posted-results comparison is still there


@pytest.mark.parametrize("facts, words", [
    (None, "does not exist"), (pd.DataFrame(columns=REGISTRY_FACTS_HEADER.strip().split(",")),
                               "has no rows yet")])
def test_registry_facts_absent_or_empty_said_honestly(facts, words):
    inputs = _full_inputs()
    html = report.build_report(
        report.ReportInputs(**{**inputs.__dict__, "registry_facts": facts}))
    block = _registry_block(html)
    assert words in block and "This does not mean" in block
    warning = html.split("Incomplete inputs")[1].split("</p>")[0]
    assert "registry_facts" not in warning  # an optional sheet, not a failed step


def test_registry_facts_read_and_checked_from_file(tmp_path: Path):
    path = tmp_path / "registry_facts.csv"
    path.write_text(REGISTRY_FACTS_HEADER + "RF001,feder2014,NCT00749203,timeframe_changed,"
                    "7 days,24 h,NCT00749203,registry field,\n", encoding="utf-8")
    inputs = report.load_report_inputs(registry_facts=path, config=CONFIG, versions={})
    assert inputs.registry_facts["fact_type"].tolist() == ["timeframe_changed"]
    assert "Primary time point differs" in report.build_report(inputs)
    assert report.load_report_inputs(registry_facts=tmp_path / "absent.csv", config=CONFIG,
                                     versions={}).registry_facts is None
    path.write_text(REGISTRY_FACTS_HEADER + "RF001,feder2014,NCT00749203,renamed,"
                    "7 days,24 h,NCT00749203,registry field,\n", encoding="utf-8")
    with pytest.raises(Exception, match="registry_facts.csv"):
        report.load_report_inputs(registry_facts=path, config=CONFIG, versions={})


def test_analyses_with_no_data_collapse_into_one_list(html):
    """A planned analysis no trial could feed gets one line, not an empty block of dashes,
    a 'figure not available' box and an empty sensitivity block each."""
    analyses = html.split('<section id="analyses">')[1].split("</section>")[0]
    assert 'class="analysis" id="analysis-ptsd_smd_followup"' not in analyses
    no_data = analyses.split('id="analyses-no-data"')[1]
    assert '<li id="analysis-ptsd_smd_followup">PTSD severity at follow-up (SMD)</li>' in no_data
    assert 'class="analysis" id="analysis-ptsd_smd_end"' in analyses  # pooled: shown in full
    assert "Forest plot for PTSD severity at follow-up" not in html
    sensitivity = html.split('<section id="sensitivity">')[1].split("</section>")[0]
    assert 'id="sensitivity-ptsd_smd_followup"' not in sensitivity
    assert 'id="sensitivity-ptsd_smd_end"' in sensitivity
    missing = html.split('<section id="missing">')[1].split("</section>")[0]
    for block in (analyses, missing):  # no internal ids in the lists
        assert "<code>ptsd_smd_followup</code>" not in block


def _graded_inputs() -> report.ReportInputs:
    claims = _claims().iloc[[0, 3]].copy()
    claims["k"] = [1, 0]
    claims["i2"] = [0.0, np.nan]
    claims["certainty"] = ["low", "very_low"]
    claims["certainty_reasons"] = ["imprecision (-2): one small trial", "many"]
    claims["verdict_text"] = ["supported, low certainty (1 trial, 41 participants)",
                              "inconclusive, very low certainty (no poolable numbers)"]
    claims["effect_statement"] = ["Any effect: shown. Meaningful effect: uncertain.", ""]
    claims["reported_k"] = [2, 2]
    claims["pooled_k"] = [1, 0]
    claims["direction_favours"] = [1, 0]
    claims["direction_against"] = [0, 0]
    claims["direction_unclear"] = [1, 2]
    claims["sign_test_pvalue"] = [1.0, np.nan]
    claims["direction_proportion"] = [1.0, np.nan]
    claims["direction_ci_low"] = [0.21, np.nan]
    claims["direction_ci_high"] = [1.0, np.nan]
    ids = list(claims["claim_id"])
    certainty = pd.DataFrame([
        {"claim_id": ids[0], "analysis_id": "ptsd_smd_end", "domain": "imprecision",
         "judgement": "very_serious", "levels": 2, "reason": "one small trial"},
        {"claim_id": ids[0], "analysis_id": "ptsd_smd_end", "domain": "overall",
         "judgement": "low", "levels": 2, "reason": "x"},
        {"claim_id": "", "analysis_id": "ptsd_smd_end", "domain": "risk_of_bias",
         "judgement": "serious", "levels": 1, "reason": "some concerns"},
        {"claim_id": "", "analysis_id": "ptsd_smd_end", "domain": "overall",
         "judgement": "moderate", "levels": 1, "reason": "x"}])
    sof = pd.DataFrame([{"claim_id": ids[0], "outcome": "PTSD severity",
                         "timepoint": "24 h", "analysis_id": "ptsd_smd_end",
                         "trials": "1 pooled of 2 reporting", "participants": "41",
                         "relative_effect": "", "absolute_effect": "MD -12.70",
                         "certainty": "low", "footnotes": "Imprecision -2: one small trial",
                         "statement": "Ketamine may reduce PTSD severity."}])
    studies = pd.DataFrame([
        {"claim_id": ids[0], "analysis_id": "a", "study_id": "f2014", "label": "Feder 2014",
         "pooled": True, "weight": 1.0, "n": 41, "direction": "favours_intervention",
         "rob": "some_concerns", "evidence": "numbers pooled in a", "instruments": "IES-R"},
        {"claim_id": ids[0], "analysis_id": "a", "study_id": "a2022", "label": "Abdallah 2022",
         "pooled": False, "weight": np.nan, "n": 158, "direction": "no_clear_difference",
         "rob": "high", "evidence": "words (E0012)", "instruments": "PCL-5"}])
    pooled = _pooled()
    pooled.loc[0, ["k", "i2", "q", "tau2"]] = [1, 0.0, 0.0, 0.0]
    pooled.loc[0, "test"] = "z"
    return report.ReportInputs(claims=claims, pooled=pooled, certainty=certainty,
                               summary_of_findings=sof, claim_studies=studies, config=CONFIG)


def test_certainty_badges_sof_and_effect_direction_plot():
    html = report.build_report(_graded_inputs())
    # certainty shown beside the verdict, as a badge of the same kind
    assert 'class="badge c-low"' in html and "Low certainty" in html
    assert "\u2295\u2295\u25ef\u25ef" in html
    assert "Low certainty: 1" in html and "Very low certainty: 1" in html
    assert "supported, low certainty (1 trial, 41 participants)" in html
    assert "Why low certainty</strong>: rated down 2 levels from high: imprecision \u22122" \
        in html
    # Summary of findings with the plain-language statement
    assert 'id="sof"' in html and "Ketamine may reduce PTSD severity." in html
    assert "1 pooled of 2 reporting" in html
    # effect direction plot: one arrow per trial, sized by n, rows shaded by RoB
    assert 'class="edp"' in html
    assert re.search(r'class="arrow n-small pooled" title="favours ketamine, pooled', html)
    assert re.search(r'class="arrow n-medium unpooled" title="no clear difference, not pooled',
                     html)
    assert 'class="edp-rob-high"' in html
    # every trial that reported it, by direction; sign test
    assert "2 reported (1 pooled): 1 favour ketamine" in html
    assert "no trial with a direction either way: no sign test" in html


def test_single_trial_shows_no_heterogeneity_and_a_z_test():
    html = report.build_report(_graded_inputs())
    section = html[html.index('id="analysis-ptsd_smd_end"'):]
    section = section[:section.index('class="analysis"', 10)]
    assert "Heterogeneity (tau\u00b2, I\u00b2, Q)</span><strong>not applicable" in section
    assert "I\u00b2 / H\u00b2" not in section
    assert "z (one trial" in section
    assert "Moderate certainty" in section          # the analysis' own GRADE rating
    claims_table = html[html.index('id="summary-table"'):html.index('id="sof"')]
    assert "not applicable (1 trial)" in claims_table and ">0%<" not in claims_table


def _with(**changes) -> report.ReportInputs:
    return report.ReportInputs(**{**_full_inputs().__dict__, **changes})


NOT_RUN_MANIFEST = {
    "written_utc": "2026-11-27T16:20:21Z",
    "database_search": {"status": "not_run", "as_of": "2026-11-27", "note": "no network"},
    "sources": {"pubmed": {"status": "not_run"}, "ctgov": {"status": "not_run"}},
    "other_methods": {"file": "known_reports.csv", "description": "Reviewers' list"},
    "software": {"python": "3.11.7", "biopython": "1.88"},
    "files": [], "previous": [],
}


def test_header_has_last_search_and_methods_summarise_the_manifest():
    html = report.build_report(_with(manifest=NOT_RUN_MANIFEST))
    header = html.split("</header>")[0]
    assert ("Last search</dt><dd class=\"last-search\">database search not run as of "
            "2026-11-27; records from the reviewers&#39; list only<") in header
    methods = html.split('<section id="methods">')[1].split("</section>")[0]
    assert "Other manifest entries" not in methods and "Biopython" not in methods
    assert "snapshot of 2026-11-27" in methods and "Reviewers&#39; list (known_reports.csv)" in methods
    searched = dict(NOT_RUN_MANIFEST, database_search={"status": "run"}, sources={
        "pubmed": {"status": "run", "retrieved_utc": "2026-12-01T10:00:00Z"},
        "ctgov": {"status": "run", "retrieved_utc": "2026-12-02T09:00:00Z"}})
    header = report.build_report(_with(manifest=searched)).split("</header>")[0]
    assert "Last search</dt><dd class=\"last-search\">databases last searched 2026-12-02<" in header


def test_methods_state_protocol_selection_extraction_not_searched_and_limitations(html):
    methods = html.split('<section id="methods">')[1].split("</section>")[0]
    for heading in ("Protocol", "Selection of studies", "Data extraction and risk of bias",
                    "Limitations"):
        assert f"<h3>{heading}</h3>" in methods
    assert "No protocol was registered" in methods
    assert "Not searched:</strong> Embase; PsycINFO; Cochrane CENTRAL" in methods
    assert "one reviewer" in methods and "not extracted in duplicate" in methods
    limitations = methods.split("<h3>Limitations</h3>")[1].split("</ul>")[0]
    assert "Not searched: Embase" in limitations and "At most 3 trials per analysis (fewer than 10)" in limitations


def test_prisma_honest_about_abstract_only_reading_and_lists_exclusions():
    chars = _characteristics().assign(location=["abstract (results)", "abstract"])
    screening = pd.DataFrame({
        "record_id": ["R1", "R2", "R3", "R4"],
        "decision": ["exclude", "exclude", "exclude", "include"],
        "reason_code": ["review", "ongoing_no_results", "wrong_design", "include"],
        "reason_text": ["[R1] a narrative review", "[R2] recruiting", "[R3] no control group",
                        ""],
        "decided_by": ["rule", "override:AB", "override:AB", "rule"]})
    records = pd.DataFrame({"record_id": ["R1", "R3"], "first_author": ["Smith", "Jones"],
                            "year": [2020, 2019], "title": ["A review", "Open-label pilot"],
                            "pmid": ["111", ""], "nct_id": ["", "NCT01234567"]})
    html = report.build_report(_with(characteristics=chars, screening=screening,
                                     records=records))
    prisma = html.split('<section id="prisma">')[1].split("</section>")[0]
    assert "Full texts not retrieved." in prisma
    assert "1 of the 1 included studies (Feder 2014)" in prisma
    assert "Identification and included studies" not in prisma  # no raw dump of the counts
    excluded = prisma.split("Excluded reports with reasons (2)")[1].split("</table>")[0]
    assert "Smith 2020 \u2014 A review" in excluded and "Jones 2019 \u2014 Open-label pilot" in excluded
    assert "no control group" in excluded and "[R3]" not in excluded
    assert "recruiting" not in excluded  # ongoing: listed apart, not as excluded
    assert 'href="https://clinicaltrials.gov/study/NCT01234567"' in excluded
    assert "1 records of ongoing studies" in prisma


def test_study_characteristics_hide_internal_curation_notes():
    chars = _characteristics().assign(notes="Pass 2: re-read on a mirror page")
    html = report.build_report(_with(characteristics=chars))
    assert "Pass 2: re-read on a mirror page" not in html


def test_uncorrected_cohen_d_is_labelled_as_such():
    effects = pd.DataFrame([
        {"analysis_id": "ptsd_smd_end", "study_id": "a", "label": "A 2020", "yi": -0.9,
         "ci_low": -1.6, "ci_high": -0.2, "weight": 100.0,
         "derivation": "generic inverse variance (Cohen's d as reported; no small-sample "
                       "correction: arm sizes unknown)"},
        {"analysis_id": "ptsd_smd_end", "study_id": "b", "label": "B 2021", "yi": -0.5,
         "ci_low": -1.0, "ci_high": 0.0, "weight": 100.0,
         "derivation": "Hedges' g = J x d with J(28) from the arm sizes"}])
    html = report.build_report(report.ReportInputs(pooled=_pooled(), study_effects=effects,
                                                   config=CONFIG))
    assert "\u22120.90 (Cohen&#39;s d, uncorrected)" in html
    assert "\u22120.50 (Cohen" not in html


def test_prisma_text_keeps_ongoing_and_awaiting_apart_from_the_excluded():
    screening = pd.DataFrame({
        "record_id": ["R1", "R2", "R3", "R4"],
        "decision": ["exclude", "exclude", "exclude", "include"],
        "reason_code": ["review", "ongoing_no_results", "awaiting_classification", "include"],
        "reason_text": ["a review", "recruiting", "completed, no results", ""],
        "decided_by": ["rules", "rules", "rules", "rules"]})
    column = {"identified": 4, "reports_excluded": 1, "reports_excluded_reasons": {"review": 1},
              "reports_ongoing": 1, "reports_awaiting_classification": 1, "reports_included": 1}
    prisma = {"databases_and_registers": column, "other_methods": dict.fromkeys(column, 0)}
    html = report.build_report(_with(screening=screening, prisma=prisma))
    part = html.split('<section id="prisma">')[1].split("</section>")[0]
    assert "counted among the excluded" not in part
    assert "2 records of ongoing studies or studies awaiting classification are not excluded" \
        in part
    decisions = part.split("<caption>Screening decisions</caption>")[1].split("</table>")[0]
    for label, n in (("Exclude", 1), ("Include", 1), ("Ongoing", 1),
                     ("Awaiting classification", 1)):
        assert f'<th scope="row">{label}</th><td class="num">{n}</td>' in decisions, label
    assert "Reports of studies ongoing (not excluded)" in part


def test_missing_inputs_are_named_by_the_configured_paths_not_the_default_review():
    # Another review (as examples/*): its sheets, snapshot and outputs live elsewhere. An
    # input that is absent must be named where this review keeps it, not at data/raw/...
    config = {**CONFIG, "review": {**CONFIG["review"], "curated_dir": "other/curated",
                                   "snapshot_dir": "other/snapshot",
                                   "output_root": "other/output"}}
    inputs = _full_inputs()
    html = report.build_report(report.ReportInputs(
        **{**inputs.__dict__, "config": config, "manifest": None, "characteristics": None,
           "risk_of_bias": None, "published_syntheses": None, "registry_facts": None}))
    for path in ("other/curated/published_syntheses.csv", "other/curated/registry_facts.csv",
                 "other/curated/study_characteristics.csv", "other/curated/risk_of_bias.csv",
                 "other/snapshot/manifest.json", "other/output/results/claims.csv",
                 "other/output/results/figures/*.png"):
        assert f"<code>{path}</code>" in html, path
    assert "data/raw/" not in html.split('id="changes"')[0] + html.split('id="inputs"')[1]
    status = {s["name"]: s["path"] for s in report.input_status(
        report.ReportInputs(config=config))}
    assert status["published_syntheses"] == "other/curated/published_syntheses.csv"
    assert status["pooled"] == "other/output/results/pooled.csv"
    # the default review's own paths without a config
    assert {s["name"]: s["path"] for s in report.input_status(report.ReportInputs())}[
        "registry_facts"] == "data/raw/registry_facts.csv"


def test_inputs_are_named_by_the_paths_they_were_read_from(tmp_path: Path):
    (tmp_path / "figs").mkdir()
    _claims().to_csv(tmp_path / "my_claims.csv", index=False)
    inputs = report.load_report_inputs(
        claims=tmp_path / "my_claims.csv", published_syntheses=tmp_path / "absent.csv",
        registry_facts=None, figures_dir=tmp_path / "figs", config=CONFIG, versions={})
    status = {s["name"]: s for s in report.input_status(inputs)}
    assert status["claims"]["path"] == str(tmp_path / "my_claims.csv")
    assert status["published_syntheses"] == {
        "name": "published_syntheses", "path": str(tmp_path / "absent.csv"),
        "state": "missing", "detail": "missing"}
    assert status["registry_facts"]["path"] == "data/raw/registry_facts.csv"  # CONFIG's default
    assert status["figures"]["path"] == str(tmp_path / "figs" / "*.png")
    html = report.build_report(inputs)
    assert f"<code>{tmp_path / 'absent.csv'}</code> is missing" in html


def test_an_absent_optional_sheet_is_not_a_step_that_failed():
    # The report step accepts a review without published_syntheses.csv (cli OPTIONAL_INPUTS);
    # the page says so in its section and does not warn of incomplete inputs for it.
    from ketamine_evidence.cli.report import OPTIONAL_INPUTS as CLI_OPTIONAL

    assert set(CLI_OPTIONAL) == set(report.OPTIONAL_INPUTS)
    inputs = _full_inputs()
    html = report.build_report(report.ReportInputs(
        **{**inputs.__dict__, "published_syntheses": None, "registry_facts": None}))
    warning = html.split("Incomplete inputs")[1].split("</p>")[0] \
        if "Incomplete inputs" in html else ""
    assert "published_syntheses" not in warning and "registry_facts" not in warning
    assert "No published syntheses listed: <code>data/raw/published_syntheses.csv</code>" in html
