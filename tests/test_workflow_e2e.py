"""End-to-end run of the Snakemake workflow on the SYNTHETIC data set in ``tests/e2e/``.

The workflow (``Snakefile`` + ``workflow/``) is copied into a temporary folder together with
the tiny config, curated sheets and snapshot, and run with ``snakemake --cores 2`` in a
subprocess, exactly as a reviewer would run it. The checks then re-derive what they can from
the outputs (pooled numbers from ``meta.rma`` on the selected effects, PRISMA balance) instead of
comparing against stored numbers, so they stay valid when the package's formulas are refined.
"""

from __future__ import annotations

import json
import math
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from ketamine_evidence import meta
from ketamine_evidence.types import VERDICTS

ROOT = Path(__file__).resolve().parents[1]
E2E = ROOT / "tests" / "e2e"
TIMEOUT = 600

pytestmark = pytest.mark.slow

OUTPUTS = [
    "results/report.html",
    "results/claims.csv",
    "results/pooled.csv",
    "results/study_effects.csv",
    "results/sensitivity.csv",
    "results/moderators.csv",
    "results/certainty.csv",
    "results/summary_of_findings.csv",
    "results/claim_studies.csv",
    "results/bayes_posterior.csv",
    "results/claim_probabilities.csv",
    "data/processed/records.csv",
    "data/processed/studies.csv",
    "data/processed/screening.csv",
    "data/processed/effects.csv",
    "data/processed/not_poolable.csv",
    "data/processed/within_arm.csv",
    "data/processed/registry_rows.csv",
    "data/processed/registry_vs_publication.csv",
    "data/processed/prisma.json",
]


def _stage(dest: Path, config_text: str | None = None) -> Path:
    """Copy the workflow and the synthetic inputs into ``dest``; return it."""
    shutil.copy2(ROOT / "Snakefile", dest / "Snakefile")
    shutil.copytree(ROOT / "workflow", dest / "workflow")
    for name in ("curated", "snapshot"):
        shutil.copytree(E2E / name, dest / name)
    if config_text is None:
        shutil.copy2(E2E / "config.yaml", dest / "config.yaml")
    else:
        (dest / "config.yaml").write_text(config_text, encoding="utf-8")
    return dest


def _snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, MPLBACKEND="Agg")
    return subprocess.run(
        [sys.executable, "-m", "snakemake", *args],
        cwd=workdir, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False,
    )


def _explain(proc: subprocess.CompletedProcess, workdir: Path) -> str:
    logs = "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}"
                     for p in sorted((workdir / "logs").glob("*.log")))
    return f"exit {proc.returncode}\nSTDOUT\n{proc.stdout[-3000:]}\nSTDERR\n" \
           f"{proc.stderr[-5000:]}\nLOGS\n{logs}"


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    """The synthetic review, run once for all tests of this module."""
    workdir = _stage(tmp_path_factory.mktemp("e2e"))
    proc = _snakemake(workdir, "--cores", "2")
    assert proc.returncode == 0, _explain(proc, workdir)
    return workdir


@pytest.fixture(scope="module")
def config(run) -> dict:
    from ketamine_evidence.config import load_config

    return load_config(run / "config.yaml")


def test_every_output_exists(run, config):
    missing = [p for p in OUTPUTS if not (run / p).is_file() or (run / p).stat().st_size == 0]
    assert not missing, f"missing or empty outputs: {missing}"
    for spec in config["analysis"]["analyses"]:
        assert (run / "results" / "figures" / f"forest_{spec['id']}.png").is_file()
    # k >= 3 draws funnel and leave-one-out (SMD k = 4, ROM k = 3 in the synthetic data)
    for kind in ("funnel", "leave1out", "cumulative"):
        for analysis_id in ("ptsd_smd_end", "ptsd_rom_end"):
            assert (run / "results" / "figures" / f"{kind}_{analysis_id}.png").is_file()
    assert (run / "results" / "figures" / "prisma.png").is_file()
    assert (run / "results" / "figures" / "rob_summary.png").is_file()


def test_claims_one_row_per_claim_with_allowed_verdict(run, config):
    claims = pd.read_csv(run / "results" / "claims.csv")
    expected = [c["id"] for c in config["claims"]]
    assert sorted(claims["claim_id"]) == sorted(expected)
    assert not claims["claim_id"].duplicated().any()
    bad = claims.loc[~claims["verdict"].isin(VERDICTS), ["claim_id", "verdict"]]
    assert bad.empty, f"verdicts outside {VERDICTS}:\n{bad}"
    assert set(claims["verdict"]) != {"no_evidence"}, "the synthetic data should decide claims"


def test_every_claim_and_analysis_has_a_grade_rating(run, config):
    claims = pd.read_csv(run / "results" / "claims.csv")
    levels = {"high", "moderate", "low", "very_low"}
    rated = claims[claims["reported_k"] > 0]
    assert set(rated["certainty"]) <= levels and len(rated)
    assert rated["certainty_reasons"].notna().all()
    assert (claims["pooled_k"] <= claims["reported_k"]).all()
    votes = claims[["direction_favours", "direction_against", "direction_unclear"]].sum(axis=1)
    assert (votes == claims["reported_k"]).all()
    for text, row in zip(claims["verdict_text"], claims.itertuples(), strict=True):
        assert text.startswith(row.verdict.replace("_", " ") if row.verdict == "no_evidence"
                               else row.verdict)
    certainty = pd.read_csv(run / "results" / "certainty.csv",
                            dtype={"claim_id": str}, keep_default_na=False)
    domains = {"risk_of_bias", "inconsistency", "indirectness", "imprecision",
               "publication_bias", "overall"}
    for claim in config["claims"]:
        assert set(certainty.loc[certainty["claim_id"] == claim["id"], "domain"]) == domains
    analyses = certainty[certainty["claim_id"] == ""]
    assert set(analyses["analysis_id"]) == {a["id"] for a in config["analysis"]["analyses"]}
    sof = pd.read_csv(run / "results" / "summary_of_findings.csv")
    assert list(sof["claim_id"]) == list(claims["claim_id"])
    assert sof["statement"].str.len().gt(0).all()


def _select(effects: pd.DataFrame, spec: dict, priority: list[str]) -> pd.DataFrame:
    """The rows an analysis pools, chosen independently of ``analysis.select_effects``.

    Main (non-sensitivity) rows of the outcome and measure inside the day window; per study x
    comparison the latest/earliest/closest timepoint, then the instrument first in ``priority``.
    """
    lo, hi = spec.get("window_days", [None, None])
    days = pd.to_numeric(effects["timepoint_days"], errors="coerce")
    mask = (
        (effects["outcome"] == spec["outcome"])
        & (effects["measure"] == spec["measure"])
        & ~effects["sensitivity"].astype(str).str.lower().isin({"true", "1"})
        & days.between(-math.inf if lo is None else lo, math.inf if hi is None else hi)
    )
    rows = effects[mask].assign(_days=days[mask])
    rank = {name.lower(): i for i, name in enumerate(priority)}
    rows = rows.assign(_rank=rows["instrument"].map(lambda s: rank.get(str(s).lower(), 99)))
    pick = spec.get("pick", "latest")
    key = {"latest": -rows["_days"], "earliest": rows["_days"]}.get(pick)
    if key is None:
        key = (rows["_days"] - spec["target_days"]).abs()
    rows = rows.assign(_key=key).sort_values(["_key", "_rank"], kind="stable")
    return rows.drop_duplicates(["study_id", "comparison"], keep="first")


def test_pooled_numbers_equal_meta_rma_on_the_selected_effects(run, config):
    effects = pd.read_csv(run / "data" / "processed" / "effects.csv")
    pooled = pd.read_csv(run / "results" / "pooled.csv").set_index("analysis_id")
    study_effects = pd.read_csv(run / "results" / "study_effects.csv")
    settings = config["analysis"]
    assert list(pooled.index) == [a["id"] for a in settings["analyses"]]
    for spec in settings["analyses"]:
        chosen = _select(effects, spec, settings["instrument_priority"])
        row = pooled.loc[spec["id"]]
        assert row["k"] == len(chosen) > 0, spec["id"]
        used = study_effects.loc[study_effects["analysis_id"] == spec["id"], "effect_id"]
        assert sorted(used) == sorted(chosen["effect_id"]), spec["id"]
        res = meta.rma(chosen["yi"].to_numpy(float), chosen["vi"].to_numpy(float),
                       method=settings["method"], test=settings["test"],
                       level=settings["level"], pi_df=settings["pi_df"])
        for name in ("estimate", "se", "ci_low", "ci_high", "pi_low", "pi_high", "tau2", "i2",
                     "q", "q_pvalue", "pvalue"):
            assert row[name] == pytest.approx(getattr(res, name), rel=1e-9, abs=1e-12), \
                f"{spec['id']}: {name}"
        assert row["method"] == settings["method"]


def test_bayesian_results_and_claim_probabilities(run, config):
    """pooled.csv's bayes_* and claims.csv's p_claim come from meta.bayes on the same rows."""
    from ketamine_evidence import scales
    from ketamine_evidence.analysis import posterior
    from ketamine_evidence.analysis.pooling import row_sizes

    effects = pd.read_csv(run / "data" / "processed" / "effects.csv")
    pooled = pd.read_csv(run / "results" / "pooled.csv").set_index("analysis_id")
    claims = pd.read_csv(run / "results" / "claims.csv")
    settings = config["analysis"]
    cols, bayes_cols = list(pooled.columns), list(posterior.POOLED_COLUMNS)
    start = cols.index(bayes_cols[0])  # appended after the frequentist columns, before scale
    assert cols[start:start + len(bayes_cols)] == bayes_cols
    assert cols[start + len(bayes_cols):] == ["scale", "estimate_bt", "ci_low_bt", "ci_high_bt",
                                              "pi_low_bt", "pi_high_bt"]
    assert list(claims.columns[-len(posterior.CLAIM_COLUMNS):]) == list(posterior.CLAIM_COLUMNS)
    checked = 0
    for claim in claims.itertuples():
        spec = next(a for a in settings["analyses"] if a["id"] == claim.analysis_used)
        chosen = _select(effects, spec, settings["instrument_priority"])
        fit = posterior.fit_analysis(spec["id"], chosen["yi"].to_numpy(float),
                                     chosen["vi"].to_numpy(float), row_sizes(chosen),
                                     spec["measure"], settings["bayes"],
                                     level=settings["level"])
        if fit.main is None:
            assert pd.isna(claim.p_claim)
            continue
        res = fit.main
        lo, hi = scales.range_to_analysis(claim.metric, claim.claimed_low, claim.claimed_high)
        assert claim.p_claim == pytest.approx(res.prob_mu(lo, hi), abs=1e-9)
        assert claim.p_claim_pred == pytest.approx(res.prob_pred(lo, hi), abs=1e-9)
        assert pooled.loc[spec["id"], "bayes_estimate"] == pytest.approx(res.mu_median, rel=1e-9)
        assert (run / "results" / "figures" / f"posterior_{claim.claim_id}.png").exists()
        checked += 1
    assert checked > 0
    sens = pd.read_csv(run / "results" / "sensitivity.csv")
    bayes_rows = sens[sens["kind"] == "bayes_prior"]
    assert set(bayes_rows["prior_id"]) == {"main", *(s["id"] for s in settings["bayes"]["sensitivity"])}


def test_crossover_correlation_sensitivity_is_produced(run, config):
    """results/sensitivity.csv re-pools with the crossover trial at each alternative r."""
    effects = pd.read_csv(run / "data" / "processed" / "effects.csv")
    table = pd.read_csv(run / "results" / "sensitivity.csv")
    settings = config["analysis"]
    spec = next(a for a in settings["analyses"] if a["id"] == "ptsd_smd_end")
    rows = table[(table["analysis_id"] == spec["id"]) & (table["kind"] == "crossover_r")]
    alternatives = settings["crossover_r_sensitivity"]
    assert len(rows) == len(alternatives), table
    flagged = effects["sensitivity"].astype(str).str.lower().eq("true")
    main = _select(effects, spec, settings["instrument_priority"])
    crossover = main["design"].eq("crossover")
    assert crossover.sum() == 1  # gamma2022
    for r_value, (_, row) in zip(alternatives, rows.iterrows(), strict=True):
        assert row["label"] == f"within-person r = {r_value:g}"
        trial = main[crossover].iloc[0]
        alt = effects[flagged & (pd.to_numeric(effects["assumption_value"]) == r_value)
                      & (effects["measure"] == spec["measure"])
                      & (effects["study_id"] == trial["study_id"])
                      & (effects["instrument"] == trial["instrument"])
                      & (effects["timepoint_days"] == trial["timepoint_days"])]
        assert len(alt) == 1, (r_value, effects[flagged])
        yi = list(main.loc[~crossover, "yi"]) + [alt["yi"].iloc[0]]
        vi = list(main.loc[~crossover, "vi"]) + [alt["vi"].iloc[0]]
        res = meta.rma(yi, vi, method=settings["method"], test=settings["test"],
                       level=settings["level"])
        for name in ("estimate", "ci_low", "ci_high", "tau2"):
            assert row[name] == pytest.approx(getattr(res, name), rel=1e-9, abs=1e-12), name
    # the alternatives move the interval: r changes the crossover trial's variance
    assert rows["ci_low"].nunique() == len(alternatives)


def test_build_stamp_names_what_the_outputs_were_built_from(run):
    from ketamine_evidence.provenance import file_sha256

    stamp = json.loads((run / "results" / "build_stamp.json").read_text())
    assert stamp["status"] == "complete"
    # the whole configuration Snakemake resolved (config.yaml + overrides, defaults filled)
    resolved = run / "results" / "settings" / "config.json"
    assert stamp["config"] == "results/settings/config.json"
    assert stamp["config_sha256"] == file_sha256(resolved)
    assert json.loads(resolved.read_text())["review"]["title"] == yaml.safe_load(
        (run / "config.yaml").read_text())["review"]["title"]
    assert stamp["inputs"]["curated/extraction.csv"] == file_sha256(
        run / "curated" / "extraction.csv")
    for name in ("results/pooled.csv", "results/claims.csv", "results/report.html",
                 "results/figures", "data/processed/effects.csv"):
        assert stamp["outputs"][name] == file_sha256(run / name), name
    html = (run / "results" / "report.html").read_text(encoding="utf-8")
    assert stamp["built_utc"] is None  # no wall-clock time: reruns stay byte-identical
    # the report's header names the same commit, config hash and snapshot as the stamp
    header = html.split("</header>")[0]
    commit, config_sha = stamp["git_commit"], stamp["config_sha256"]
    if commit:  # (a checkout without git has none; the header then says so)
        assert f'<code title="{commit}">{commit[:12]}</code>' in header
    else:
        assert "outside a git work tree" in header
    assert f'<code title="{config_sha}">{config_sha[:12]}</code>' in header
    manifest = json.loads((run / "snapshot" / "manifest.json").read_text())
    assert re.search("Evidence current to</dt><dd[^>]*>"
                     + re.escape(manifest["database_search"]["as_of"]), header)
    assert "<code>snapshot" in header and "Built" not in header


def test_without_a_previous_version_the_report_says_how_to_give_one(run):
    changes = json.loads((run / "results" / "changes.json").read_text())
    assert changes["previous"] is None and changes["changed"] is None
    assert "no previous version" in (run / "results" / "changes.md").read_text().lower()
    html = (run / "results" / "report.html").read_text(encoding="utf-8")
    section = html.split('<section id="changes">')[1].split("</section>")[0]
    assert "No previous version was given" in section and "review.previous_version" in section


def test_the_report_says_what_changed_since_a_previous_version(run, tmp_path):
    """review.previous_version (and previous_snapshot) from --config: the `changes` rule
    compares with that folder and the report shows it; the rule then depends on its files."""
    work = tmp_path / "copy"
    shutil.copytree(run, work, symlinks=True)
    previous = work / "previous"
    (previous / "data").mkdir(parents=True)
    shutil.copytree(run / "results", previous / "results")
    shutil.copytree(run / "data" / "processed", previous / "data" / "processed")
    shutil.copytree(run / "snapshot", previous / "snapshot")
    claims = pd.read_csv(previous / "results" / "claims.csv", dtype=str, keep_default_na=False)
    row = claims.index[claims["k"] != "0"][0]
    claim_id, k_now = claims.loc[row, "claim_id"], int(claims.loc[row, "k"])
    claims.loc[row, "k"] = str(k_now - 1)
    claims.loc[row, "verdict"] = "no_evidence" if claims.loc[row, "verdict"] != "no_evidence" \
        else "inconclusive"
    claims.to_csv(previous / "results" / "claims.csv", index=False)
    option = "review={previous_version: previous, previous_snapshot: previous/snapshot}"
    # no step but the comparison (and what shows it) depends on the previous version
    assert _jobs_to_run(work, "--config", option) == {"changes", "report", "stamp"}
    proc = _snakemake(work, "--cores", "2", "--config", option)
    assert proc.returncode == 0, _explain(proc, work)
    changes = json.loads((work / "results" / "changes.json").read_text())
    assert changes["changed"] is True and changes["records"]["pmids_added"] == []
    changed = {c["field"]: c for c in next(
        c for c in changes["claims"]["changed"] if c["claim_id"] == claim_id)["changes"]}
    assert changed["k"]["old"] == k_now - 1 and changed["k"]["new"] == k_now
    assert f"| {claim_id} | k | {k_now - 1} | {k_now} |" in (
        work / "results" / "changes.md").read_text()
    stamp = json.loads((work / "results" / "build_stamp.json").read_text())
    assert changes["current"]["config_sha256"] == stamp["config_sha256"]
    # naming a previous version is no change of configuration: the same config hash
    assert changes["previous"]["config_sha256"] == stamp["config_sha256"]
    html = (work / "results" / "report.html").read_text(encoding="utf-8")
    section = html.split('<section id="changes">')[1].split("</section>")[0]
    assert f"<td>{claim_id}</td><td>studies pooled (k)</td><td>{k_now - 1}</td>" in section
    assert _jobs_to_run(work, "--config", option) == set()
    # the previous version's files are inputs only when one is configured: without the
    # option nothing requires them, with it a missing file is Snakemake's missing-input error
    # (once the comparison has to be made again: Snakemake keeps an up-to-date output)
    (previous / "results" / "claims.csv").unlink()
    (work / "results" / "changes.json").unlink()
    proc = _snakemake(work, "-n", "--cores", "2", "--config", option)
    assert proc.returncode != 0 and "previous/results/claims.csv" in proc.stdout + proc.stderr
    assert "changes" in _jobs_to_run(work)  # back to no previous version: a new comparison


def test_planned_subgroups_and_metaregression(run, config):
    """The protocol's subgroups and dose meta-regression run on the selected effects."""
    effects = pd.read_csv(run / "data" / "processed" / "effects.csv")
    settings = config["analysis"]
    spec = next(a for a in settings["analyses"] if a["id"] == "ptsd_smd_end")
    chosen = _select(effects, spec, settings["instrument_priority"])
    table = pd.read_csv(run / "results" / "moderators.csv")
    table = table[table["analysis_id"] == "ptsd_smd_end"]
    test_row = table[(table["moderator"] == "treatment_resistant")
                     & (table["term"] == "test for subgroup differences")].iloc[0]
    ref = meta.subgroup(chosen["yi"], chosen["vi"], chosen["treatment_resistant"].astype(str),
                        method=settings["method"], test=settings["test"])
    assert test_row["statistic"] == pytest.approx(ref.q_between, rel=1e-9)
    assert test_row["pvalue"] == pytest.approx(ref.p_between, rel=1e-9)
    # control_type is not in this sheet: every study is 'not reported', so no test, but a row
    assert "not estimable" in table[table["moderator"] == "control_type"].iloc[0]["note"]
    slope = table[(table["kind"] == "metareg") & (table["term"] == "slope")].iloc[0]
    dose = pd.to_numeric(chosen["dose_mg_per_kg"], errors="coerce")
    ok = dose.notna().to_numpy()
    reg = meta.metareg(chosen["yi"].to_numpy(float)[ok], chosen["vi"].to_numpy(float)[ok],
                       dose[ok].to_numpy(float), method=settings["method"],
                       test=settings["test"])
    assert slope["estimate"] == pytest.approx(reg.coef[1], rel=1e-9)


def test_prisma_counts_every_record_once(run):
    prisma = json.loads((run / "data" / "processed" / "prisma.json").read_text())
    records = pd.read_csv(run / "data" / "processed" / "records.csv")
    screening = pd.read_csv(run / "data" / "processed" / "screening.csv")
    assert len(screening) == len(records) == prisma["check"]["records"]
    assert sorted(screening["record_id"]) == sorted(records["record_id"])
    total = 0
    for column in ("databases_and_registers", "other_methods"):
        c = prisma[column]
        # PRISMA 2020: each record leaves in exactly one box; ongoing studies and studies
        # awaiting classification are boxes of their own, not exclusions
        assert c["identified"] == c["duplicates_removed"] + c["records_screened"], column
        assert c["records_screened"] == c["records_excluded"] + c["reports_sought"], column
        assert c["reports_sought"] == c["reports_not_retrieved"] + c["reports_assessed"], column
        assert c["reports_assessed"] == (c["reports_excluded"] + c["reports_ongoing"]
                                         + c["reports_awaiting_classification"]
                                         + c["reports_included"]), column
        assert sum(c["reports_excluded_reasons"].values()) == c["reports_excluded"]
        assert not {"ongoing_no_results", "awaiting_classification"} & set(
            c["reports_excluded_reasons"])
        total += c["identified"]
    assert total == len(records)
    ident = prisma["identification"]
    assert sum(ident["databases"].values()) + ident["other_methods"]["known_reports"] == total
    # the synthetic data: 1 CT.gov record + 5 known reports, KR002 duplicates the CT.gov record,
    # KR005 (a review) is excluded; three studies included
    assert ident["databases"]["ClinicalTrials.gov"] == 1
    assert prisma["other_methods"]["duplicates_removed"] == 1
    assert prisma["other_methods"]["reports_excluded_reasons"] == {"review": 1}
    assert prisma["included"]["study_ids"] == ["alpha2020", "beta2021", "gamma2022"]


def test_registry_results_compared_with_the_publication(run):
    rows = pd.read_csv(run / "data" / "processed" / "registry_rows.csv")
    assert set(rows["nct_id"]) == {"NCT99990001"}
    cmp = pd.read_csv(run / "data" / "processed" / "registry_vs_publication.csv")
    status = cmp.set_index(["row_id", "field"])["status"]
    assert status[("E0001", "m1i")] == "agree"
    assert status[("E0002", "ai")] == "discrepancy"  # registry 11 responders, publication 10


def test_designs_handled(run):
    effects = pd.read_csv(run / "data" / "processed" / "effects.csv")
    not_poolable = pd.read_csv(run / "data" / "processed" / "not_poolable.csv")
    crossover = effects[effects["study_id"] == "gamma2022"]
    assert set(crossover["measure"]) == {"SMD", "MD"}  # paired: no ROM
    assert crossover["sensitivity"].astype(str).str.lower().eq("true").any()
    beta = effects[(effects["study_id"] == "beta2021") & (effects["measure"] == "SMD")]
    assert sorted(beta["n2i"]) == [15.0, 15.0]  # the shared saline arm (n = 30) split in two
    assert {"E0003", "E0008"} <= set(not_poolable["row_ids"])  # narrative rows
    assert (effects["measure"] == "RR").sum() == 2


def test_report_names_every_claim_and_verdict(run, config):
    html = (run / "results" / "report.html").read_text(encoding="utf-8")
    claims = pd.read_csv(run / "results" / "claims.csv")
    for claim_id, verdict in zip(claims["claim_id"], claims["verdict"], strict=True):
        assert claim_id in html
        assert verdict.replace("_", " ") in html or verdict in html, (claim_id, verdict)
    assert config["review"]["title"] in html


def test_rerun_has_nothing_to_do(run):
    proc = _snakemake(run, "-n", "--cores", "2")
    assert proc.returncode == 0, _explain(proc, run)
    assert "Nothing to be done" in proc.stdout + proc.stderr, proc.stdout + proc.stderr


def _jobs_to_run(workdir: Path, *args: str) -> set[str]:
    """Rules a dry run would execute (from the "Job stats" table), besides ``all``."""
    proc = _snakemake(workdir, "-n", "--cores", "2", *args)
    assert proc.returncode == 0, _explain(proc, workdir)
    out = proc.stdout + proc.stderr
    if "Nothing to be done" in out:
        return set()
    table = out.split("Job stats:", 1)[1].split("total", 1)[0]
    return {line.split()[0] for line in table.splitlines()[3:] if line.strip()} - {"all"}


def test_each_rule_reruns_only_for_the_config_values_it_uses(run, tmp_path):
    work = tmp_path / "copy"
    shutil.copytree(run, work, symlinks=True)        # copy2 keeps mtimes: still up to date
    assert _jobs_to_run(work) == set()
    config = yaml.safe_load((work / "config.yaml").read_text(encoding="utf-8"))
    config["claims"][0]["text"] = "reworded claim (synthetic)"
    (work / "reworded.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    # (the build stamp re-runs whenever an output it hashes is rebuilt)
    # (`changes` takes the whole configuration: its hash is part of the comparison)
    assert _jobs_to_run(work, "--configfile", "reworded.yaml") == {"claims", "figures",
                                                                    "changes", "report", "stamp"}
    assert _jobs_to_run(work, "--config", "eligibility={design_terms: [randomized]}") == {
        "screen", "prisma", "registry_effects", "claims", "figures", "changes", "report",
        "stamp"}
    config = yaml.safe_load((work / "config.yaml").read_text(encoding="utf-8"))
    config["analysis"]["crossover_r"] = 0.6     # numbers: --config would pass a string
    (work / "crossover.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    assert _jobs_to_run(work, "--configfile", "crossover.yaml") == {
        "effects", "analyze", "claims", "figures", "changes", "report", "stamp"}


def test_a_config_override_reaches_the_steps(run, tmp_path):
    work = tmp_path / "copy"
    shutil.copytree(run, work, symlinks=True)
    proc = _snakemake(work, "--cores", "2", "--config", "analysis={method: DL, test: z}")
    assert proc.returncode == 0, _explain(proc, work)
    pooled = pd.read_csv(work / "results" / "pooled.csv")
    assert set(pooled.loc[pooled["k"] > 0, "method"]) == {"DL"}
    assert set(pooled.loc[pooled["k"] > 0, "test"]) == {"z"}
    html = (work / "results" / "report.html").read_text(encoding="utf-8")
    assert "DerSimonian-Laird" in html


def test_snakemake_report(run):
    proc = _snakemake(run, "--report", "results/snakemake-report.html")
    assert proc.returncode == 0, _explain(proc, run)
    page = run / "results" / "snakemake-report.html"
    assert page.is_file() and page.stat().st_size > 10_000
    text = page.read_text(encoding="utf-8", errors="replace")
    for name in ("pooled.csv", "claims.csv", "report.html", "forest_ptsd_smd_end.png"):
        assert name in text, name


def test_bad_config_fails_naming_the_key(tmp_path):
    config = yaml.safe_load((E2E / "config.yaml").read_text(encoding="utf-8"))
    config["analysis"]["method"] = "NOT_AN_ESTIMATOR"
    workdir = _stage(tmp_path, yaml.safe_dump(config, sort_keys=False))
    proc = _snakemake(workdir, "--cores", "2")
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "NOT_AN_ESTIMATOR" in out
    assert "['analysis']['method']" in out or "analysis.method" in out, out
    assert not (workdir / "results").exists()


# ---------------------------------------------------------------- verification outputs
def _metafor_available() -> bool:
    if shutil.which("Rscript") is None:
        return False
    proc = subprocess.run(["Rscript", "-e", "library(metafor)"], capture_output=True,
                          text=True, timeout=120, check=False)
    return proc.returncode == 0


needs_metafor = pytest.mark.skipif(not _metafor_available(),
                                   reason="Rscript with the metafor package is not installed")


def _run_reproduce_r(results: Path) -> float:
    """Run results/reproduce.R; return the largest difference it reports."""
    proc = subprocess.run(["Rscript", str(results / "reproduce.R"), str(results)],
                          capture_output=True, text=True, timeout=300, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-5000:]
    line = next(x for x in out.splitlines() if x.startswith("Largest difference:"))
    n_compared = int(line.rsplit(" over ", 1)[1].split()[0])
    assert n_compared > 0, line
    return float(line.split()[2])


def test_statsmodels_cross_check_recorded_for_every_pooled_analysis(run):
    check = pd.read_csv(run / "results" / "statsmodels_check.csv")
    pooled = pd.read_csv(run / "results" / "pooled.csv")
    multi = set(pooled.loc[pooled["k"] >= 2, "analysis_id"])
    assert multi, "the synthetic data should pool at least one analysis of k >= 2"
    fitted = check[check["method"].notna()]
    assert set(fitted["analysis_id"]) == multi
    assert set(fitted["method"]) == {"DL", "PM"}
    assert (fitted["max_rel_diff"] <= 1e-8).all(), fitted[["analysis_id", "max_rel_diff"]]
    assert "statsmodels cross-check" in (run / "logs" / "analyze.log").read_text()


@needs_metafor
def test_reproduce_r_agrees_with_metafor_on_the_synthetic_review(run):
    assert _run_reproduce_r(run / "results") <= 1e-6


@needs_metafor
def test_reproduce_r_agrees_with_metafor_on_the_review(tmp_path):
    """The committed review itself: effects and analyses only (no figures or report)."""
    for name in ("Snakefile", "config.yaml"):
        shutil.copy2(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "workflow", tmp_path / "workflow")
    shutil.copytree(ROOT / "data" / "raw", tmp_path / "data" / "raw")
    proc = _snakemake(tmp_path, "--cores", "2", "results/reproduce.R")
    assert proc.returncode == 0, _explain(proc, tmp_path)
    assert _run_reproduce_r(tmp_path / "results") <= 1e-6


CODEBOOK = ROOT / "results" / "CODEBOOK.md"
# R guesses each column's class from its cells: text that happens to hold only numbers
# (e.g. one dose per row) is read as numbers, so text columns are not held to one class.
R_CLASSES = {"text": {"character", "numeric", "integer", "logical"},
             "integer": {"integer", "numeric"},
             "number": {"numeric", "integer"}, "logical": {"logical"}}


def _codebook_tables() -> dict[str, list[tuple[str, str]]]:
    """``{table: [(column, type), ...]}`` from the tables of ``results/CODEBOOK.md``.

    A row whose first cell reads *all columns of `X`* stands for the columns of table ``X``.
    """
    tables: dict[str, list] = {}
    current = None
    for line in CODEBOOK.read_text(encoding="utf-8").splitlines():
        heading = re.match(r"## `([^`]+\.csv)`", line)
        if heading:
            current = tables.setdefault(heading.group(1), [])
        elif line.startswith("## "):
            current = None
        elif current is not None and line.startswith("| *all columns of `"):
            current.append(re.match(r"\| \*all columns of `([^`]+)`", line).group(1))
        elif current is not None and line.startswith("| `"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            current.extend((name, cells[1]) for name in re.findall(r"`([^`]+)`", cells[0]))

    def expand(table: str, seen: tuple = ()) -> list[tuple[str, str]]:
        assert table in tables and table not in seen, f"CODEBOOK: cannot expand {table}"
        out = []
        for entry in tables[table]:
            out.extend(expand(entry, (*seen, table)) if isinstance(entry, str) else [entry])
        return out

    return {table: expand(table) for table in tables}


def _csv_outputs(workdir: Path) -> list[str]:
    """Every CSV a run wrote under ``results/`` and ``data/processed/`` (relative paths)."""
    found = [*workdir.glob("results/**/*.csv"), *workdir.glob("data/processed/**/*.csv")]
    return sorted(p.relative_to(workdir).as_posix() for p in found)


def test_codebook_lists_exactly_the_columns_written(run):
    tables = _codebook_tables()
    written = _csv_outputs(run)
    assert {"results/pooled.csv", "results/claims.csv", "data/processed/records.csv",
            "data/processed/registry_effects.csv", "results/figures/index.csv"} <= set(written)
    undocumented = sorted(set(written) - set(tables))
    assert not undocumented, f"CSV outputs without a section in results/CODEBOOK.md: {undocumented}"
    stale = sorted(set(tables) - set(written))
    assert not stale, f"results/CODEBOOK.md documents tables the run did not write: {stale}"
    for table, columns in tables.items():
        header = pd.read_csv(run / table, nrows=0).columns.tolist()
        assert header == [c for c, _ in columns], table
        assert {t for _, t in columns} <= set(R_CLASSES), table


def test_outputs_open_in_r_with_the_codebook_types(run):
    rscript = shutil.which("Rscript")
    if rscript is None:
        pytest.skip("R is not installed")
    tables = _codebook_tables()
    script = (
        "args <- commandArgs(TRUE); for (f in args) { d <- read.csv(f);"
        " for (n in names(d)) cat(f, n, class(d[[n]])[1], all(is.na(d[[n]])), '\\n', sep='\\t') }"
    )
    proc = subprocess.run([rscript, "-e", script, *tables], cwd=run, capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    seen = {}
    for line in proc.stdout.splitlines():
        table, column, r_class, all_na = line.split("\t")[:4]
        seen[(table, column)] = (r_class, all_na.strip() == "TRUE")
    for table, columns in tables.items():
        for column, kind in columns:
            r_class, all_na = seen[(table, column)]
            if not all_na:  # an all-empty column is logical NA in R whatever it holds
                assert r_class in R_CLASSES[kind], (table, column, kind, r_class)


# ---------------------------------------------------------------- a reader that goes away
def _closed_pipe(argv: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """Run with standard output a pipe whose reader has already gone (``| head`` exited)."""
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run(argv, cwd=cwd, stdout=write, stderr=subprocess.PIPE, text=True,
                              env=dict(os.environ, MPLBACKEND="Agg"), timeout=TIMEOUT,
                              check=False)
    finally:
        os.close(write)


def _workflow_commands(workdir: Path) -> list[list[str]]:
    """The subcommands the workflow runs, in its order, as its rules write them."""
    proc = _snakemake(workdir, "-n", "-p", "--forceall", "--cores", "1")
    assert proc.returncode == 0, _explain(proc, workdir)
    commands = []
    for line in (proc.stdout + proc.stderr).splitlines():
        # Snakemake 9 prefixes "Shell command: "; 8.20 (the lowest supported) prints it bare
        if " -m ketamine_evidence.cli " in line:
            command = line.removeprefix("Shell command: ").split(" > logs/")[0]
            commands.append(shlex.split(command))
    assert commands, "no workflow step found in the dry run's printed commands"
    return commands


def _files(workdir: Path) -> dict[str, bytes]:
    """Every file the workflow's steps wrote: the outputs its build stamp lists (folders
    expanded, without snakemake's own ``.snakemake_timestamp``) and the stamp itself."""
    stamp = workdir / "results" / "build_stamp.json"
    found = [stamp]
    for name in json.loads(stamp.read_text(encoding="utf-8"))["outputs"]:
        path = workdir / name
        found += (sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
                  if path.is_dir() else [path])
    return {p.relative_to(workdir).as_posix(): p.read_bytes() for p in found}


def test_a_closed_pipe_is_not_an_error_for_any_subcommand(run, tmp_path):
    """Every subcommand with its standard output closed (``| head`` after the reader left):
    no error, the same exit status as with a reader, and every file written all the same."""
    work = tmp_path / "copy"
    shutil.copytree(run, work, symlinks=True)
    cli = [sys.executable, "-m", "ketamine_evidence.cli"]
    covered = set()
    # the workflow's own steps, from empty output folders: each must write everything
    expected = _files(work)
    for name in expected:
        (work / name).unlink()
    for argv in _workflow_commands(work):
        proc = _closed_pipe(argv, work)
        name = argv[argv.index("ketamine_evidence.cli") + 1]
        assert proc.returncode == 0, (name, proc.stderr)
        assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr, proc.stderr
        covered.add(name)
    written = _files(work)
    assert sorted(written) == sorted(expected)
    assert [n for n in expected if written[n] != expected[n]] == []
    # the others; diff (a changed claim: 1) and awaiting --fail-if-any (a record awaits: 3)
    # must keep their exit status when nobody reads what they print
    old = tmp_path / "old"
    (old / "results").mkdir(parents=True)
    (old / "data" / "processed").mkdir(parents=True)
    claims = pd.read_csv(work / "results" / "claims.csv")
    claims.loc[claims["verdict"] == "supported", "verdict"] = "contradicted"
    claims.to_csv(old / "results" / "claims.csv", index=False)
    shutil.copy2(work / "data" / "processed" / "prisma.json", old / "data" / "processed")
    effects = tmp_path / "effects.csv"
    effects.write_text("yi,vi\n" + "".join(f"0.{i % 9},0.0{i % 9 + 1}\n" for i in range(50)))
    arms = tmp_path / "arms.csv"
    arms.write_text("m1i,sd1i,n1i,m2i,sd2i,n2i\n" + "10,2,10,8,3,12\n" * 200)
    others = {
        "diff": (1, lambda _: ["diff", "--old", str(old), "--old-snapshot", "snapshot",
                               "--new", ".", "--new-snapshot", "snapshot"]),
        "awaiting": (3, lambda _: ["awaiting", "--characteristics",
                                   "curated/study_characteristics.csv", "--fail-if-any"]),
        "validate-sheet": (0, lambda _: ["validate-sheet", "--curated-dir", "curated",
                                         "--config", "config.yaml"]),
        "init-snapshot": (0, lambda i: ["init-snapshot", "--snapshot-dir",
                                        str(tmp_path / f"snapshot{i}")]),
        "escalc": (0, lambda _: ["escalc", "--measure", "MD", str(arms)]),
        "pool": (0, lambda _: ["pool", str(effects)]),
    }
    for name, (status, argv) in others.items():
        read = subprocess.run([*cli, *argv("read")], cwd=work, capture_output=True, text=True,
                              timeout=TIMEOUT, check=False)
        assert read.returncode == status and read.stdout, (name, read.stderr)
        proc = _closed_pipe([*cli, *argv("gone")], work)
        assert proc.returncode == status, (name, proc.returncode, proc.stderr)
        assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr, proc.stderr
        covered.add(name)
    # refresh needs PubMed and ClinicalTrials.gov (test_living_replay runs it on a replay server)
    from ketamine_evidence import cli as cli_module

    commands = set(cli_module.build_parser()._subparsers._group_actions[0].choices)
    assert commands - covered == {"refresh"}
