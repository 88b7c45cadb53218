"""Subcommands ``analyze`` and ``claims``: pooled analyses and claim verdicts from files."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from ketamine_evidence.analysis import fits, pooling, posterior, reproduce
from ketamine_evidence.cli.files import file_option
from ketamine_evidence.config import load_settings
from ketamine_evidence.extraction import read_thresholds
from ketamine_evidence.synthesis import claims, grade
from ketamine_evidence.tables import read_table, write_table, write_text


def analyze_command(args: argparse.Namespace) -> int:
    settings = load_settings(args.config).analysis
    effects = read_table(args.effects)
    outcomes = pooling.run_analyses(effects, settings)
    posteriors = [pooling.bayes_posterior(o, settings.bayes, level=settings.level)
                  for o in outcomes]
    pooled = pd.DataFrame([{**o.pooled_row(), **posterior.pooled_columns(p), **o.scale_columns()}
                           for o, p in zip(outcomes, posteriors, strict=True)])
    study_rows = [pooling.study_effects_table(o) for o in outcomes]
    study_rows = [t for t in study_rows if not t.empty]
    study_effects = pd.concat(study_rows, ignore_index=True) if study_rows else pd.DataFrame(
        columns=["analysis_id", "study_id"])
    sensitivity = pd.concat(
        [pooling.sensitivity_table(o, effects, instrument_priority=settings.instrument_priority,
                                    crossover_r=settings.crossover_r_sensitivity)
         for o in outcomes]
        + [pd.DataFrame(posterior.sensitivity_rows(p)) for p in posteriors if p.results],
        ignore_index=True)
    moderators = pd.concat([pooling.moderator_table(o) for o in outcomes], ignore_index=True)
    write_table(moderators, args.out_moderators)
    if args.out_fits is not None:
        fits.write_fits(outcomes, settings, args.out_fits)
    write_table(pooled, args.out_pooled)
    write_table(study_effects, args.out_study_effects)
    write_table(sensitivity, args.out_sensitivity)
    if args.out_posterior is not None:
        write_table(posterior.mixture_table(posteriors), args.out_posterior)
    # Every analysis pooled a second time by statsmodels, and an R script that refits it in
    # metafor; a disagreement with statsmodels stops the step, naming the analysis.
    if args.out_reproduce_r is not None:
        write_text(reproduce.reproduce_r_script(outcomes), args.out_reproduce_r)
    check = reproduce.statsmodels_check_table(outcomes)
    if args.out_statsmodels_check is not None:
        write_table(check, args.out_statsmodels_check)
    reproduce.require_agreement(check)
    checked = check["max_rel_diff"].dropna()
    if len(checked):
        print(f"statsmodels cross-check: {len(checked)} fits, largest relative difference "
              f"{checked.max():.3g}")
    print(f"pooled {len(outcomes)} analyses: "
          + ", ".join(f"{o.analysis_id} (k={o.k})" for o in outcomes))
    return 0


def judgement_date(as_of: str | None, manifest: Path | None) -> str:
    """The date against which registered completion dates count as overdue (GRADE, missing
    results): ``as_of`` when given, else the date the snapshot's evidence is current to
    (:func:`ketamine_evidence.provenance.evidence_date` of ``manifest``), else today (a
    hand-run without a manifest)."""
    if as_of is not None:
        return as_of
    if manifest is not None:
        from ..provenance import evidence_date
        from ..sources.snapshot import read_manifest

        date = evidence_date(read_manifest(Path(manifest).parent))
        if date:
            return date
    import datetime

    return datetime.date.today().isoformat()


def claims_command(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    args.as_of = judgement_date(args.as_of, args.manifest)
    inputs = {
        "analyses": settings.analysis.analyses,
        "study_effects": read_table(args.study_effects, required=False),
        "risk_of_bias": read_table(args.risk_of_bias, required=False),
        "not_poolable": read_table(args.not_poolable, required=False),
        "characteristics": read_table(args.characteristics, required=False),
    }
    pooled = read_table(args.pooled)
    table = claims.evaluate_claims(settings.claims, pooled,
                                   within_arm=read_table(args.within_arm, required=False),
                                   intervention=settings.review.intervention, **inputs)
    evidence = claims.claim_evidence(settings.claims, pooled, **inputs)
    rating = {
        "study_effects": inputs["study_effects"],
        "characteristics": inputs["characteristics"],
        "thresholds": read_thresholds(args.thresholds) if args.thresholds else None,
        "smd_benchmarks": settings.analysis.smd_benchmarks,
        "registrations": grade.registrations_without_results(
            read_table(args.screening, required=False) if args.screening else None,
            read_table(args.records, required=False) if args.records else None,
            as_of=args.as_of),
        "raters": settings.certainty.instrument_raters,
        "settings": settings.certainty,
        "intervention": settings.review.intervention,
    }
    graded, certainty_rows = grade.assess_claims(settings.claims, evidence,
                                                 list(table["verdict"]), pooled, **rating)
    table = pd.concat([table, graded], axis=1)
    mixtures = posterior.read_mixtures(
        read_table(args.posterior, required=False) if args.posterior else None)
    bayes_columns, probabilities = posterior.claim_probabilities(table, mixtures, pooled)
    table = pd.concat([table, bayes_columns], axis=1)
    write_table(table, args.output)
    if args.out_probabilities is not None:
        write_table(probabilities, args.out_probabilities)
    if args.out_studies is not None:
        write_table(claims.claim_studies(evidence), args.out_studies)
    if args.out_certainty is not None:
        # every analysis too, rated for 'any effect' (the null as its only threshold)
        pseudo = grade.analysis_claims(pooled, settings.analysis.analyses)
        per_analysis = claims.claim_evidence(pseudo, pooled, **inputs)
        _, analysis_rows = grade.assess_claims(pseudo, per_analysis, [""] * len(pseudo),
                                               pooled, **rating)
        write_table(pd.concat([certainty_rows, analysis_rows], ignore_index=True),
                    args.out_certainty)
    if args.out_sof is not None:
        write_table(grade.summary_of_findings(
            settings.claims, table, evidence, study_effects=inputs["study_effects"],
            certainty_rows=certainty_rows, intervention=settings.review.intervention),
            args.out_sof)
    for _, row in table.iterrows():
        print(f"{row['claim_id']}: {row['verdict_text']}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "analyze", help="pool every configured analysis",
        description="Select the effects of every pre-specified analysis of the config and pool "
                    "them (random effects, configured estimator and test), with sensitivity, "
                    "small-study, subgroup and meta-regression analyses. This is the only step "
                    "that pools; figures, claims and the report read what it writes.")
    file_option(p, "--config", help="the review configuration (analyses, estimator, test)")
    file_option(p, "--effects")
    p.add_argument("--out-pooled", type=Path, default=Path("results/pooled.csv"),
                   help="where to write one row per pooled analysis")
    p.add_argument("--out-study-effects", type=Path, default=Path("results/study_effects.csv"),
                   help="where to write the rows each analysis pooled, with weights")
    p.add_argument("--out-sensitivity", type=Path, default=Path("results/sensitivity.csv"),
                   help="where to write leave-one-out, cumulative, crossover-r and estimator "
                        "sensitivity")
    p.add_argument("--out-moderators", type=Path, default=Path("results/moderators.csv"),
                   help="subgroup analyses and meta-regressions planned in the config")
    p.add_argument("--out-fits", type=Path, default=Path("results/analyses.json"),
                   help="where to save every fit, leave-one-out and cumulative frame, "
                        "trim-and-fill and the settings used, for the steps after this one "
                        "(see ketamine_evidence.analysis.fits)")
    p.add_argument("--out-posterior", type=Path, default=None,
                   help="also write the Bayesian posterior of every analysis' mu under each "
                        "prior, as quadrature nodes (results/bayes_posterior.csv)")
    p.add_argument("--out-statsmodels-check", type=Path,
                   default=Path("results/statsmodels_check.csv"),
                   help="every analysis pooled again with statsmodels (DL, PM) beside the "
                        "engine; the step fails on a difference above 1e-8 relative")
    p.add_argument("--out-reproduce-r", type=Path, default=Path("results/reproduce.R"),
                   help="an R script that refits every analysis with metafor and compares")
    p.set_defaults(func=analyze_command)

    p = subparsers.add_parser(
        "claims", help="judge every configured claim",
        description="Judge every claim of the config against the pooled confidence interval "
                    "of its analysis: supported, contradicted, inconclusive or no_evidence, with "
                    "the reason in words.")
    file_option(p, "--config", help="the review configuration (claims and analyses)")
    for option in ("--pooled", "--study-effects", "--risk-of-bias", "--not-poolable",
                   "--within-arm"):
        file_option(p, option)
    file_option(p, "--characteristics",
                help="study characteristics (participants of trials that were not pooled)")
    p.add_argument("-o", "--output", "--out", type=Path, default=Path("results/claims.csv"),
                   metavar="PATH", help="where to write the claims table")
    p.add_argument("--thresholds", type=Path, default=None,
                   help="curated thresholds.csv (minimal important differences)")
    file_option(p, "--screening", default=None,
                help="screening.csv: registered trials without results (missing results)")
    file_option(p, "--records", default=None,
                help="records.csv: registration numbers and titles of those trials")
    p.add_argument("--as-of", default=None,
                   help="ISO date against which registered completion dates are overdue "
                        "(default: the date the evidence is current to, from --manifest; "
                        "today without one)")
    p.add_argument("--manifest", type=Path, default=None,
                   help="the snapshot's manifest.json: its search date is the default "
                        "--as-of, so a rebuild on a later day judges the same evidence alike")
    file_option(p, "--posterior", default=None,
                help="bayes_posterior.csv from 'analyze --out-posterior': adds p_claim, "
                     "p_claim_pred, p_meaningful, p_meaningful_pred")
    p.add_argument("--out-probabilities", type=Path, default=None,
                   help="also write the claim probabilities under every prior of the "
                        "sensitivity set (results/claim_probabilities.csv)")
    p.add_argument("--out-certainty", type=Path, default=None,
                   help="also write GRADE judgements per claim/analysis x domain")
    p.add_argument("--out-sof", type=Path, default=None,
                   help="also write the Summary-of-findings table")
    p.add_argument("--out-studies", type=Path, default=None,
                   help="also write every trial that reported each claim's outcome, with "
                        "its direction of effect (results/claim_studies.csv)")
    p.set_defaults(func=claims_command)
