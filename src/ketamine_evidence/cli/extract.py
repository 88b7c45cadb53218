"""Subcommands ``effects`` and ``validate-sheet``: curated sheets -> tidy effect tables.

``ketamine-evidence validate-sheet``
    Check the curated sheets against the codebook and list every problem (exit code 2).
``ketamine-evidence effects``
    Validate the sheets, derive the effects and write ``effects.csv``, ``not_poolable.csv``,
    ``within_arm.csv``; with a registry snapshot also ``registry_rows.csv`` (arm-level numbers
    posted on ClinicalTrials.gov for the included studies), ``registry_analyses.csv`` (posted
    contrasts) and ``registry_vs_publication.csv``. Without a snapshot the registry tables are
    written empty (headers only), so downstream steps always find them. Nothing is written
    unless every table was computed.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from ketamine_evidence import registry_results as rr
from ketamine_evidence.cli.files import file_option, review_folders
from ketamine_evidence.config import VocabularySettings, load_settings
from ketamine_evidence.extraction import derive_effects, load_curated
from ketamine_evidence.tables import write_table


def _curated_dir(args: argparse.Namespace) -> Path:
    """``--curated-dir``, else ``review.curated_dir`` of ``--config``."""
    return review_folders(args, "curated_dir")[0]


def _registry_studies(folder: Path) -> tuple[list[dict], list[str]]:
    """Study objects from a snapshot folder (hash-checked via its manifest) or a plain folder.

    Raises ``OSError`` when ``folder`` is not a folder (``--registry-dir`` was mistyped).
    """
    if not folder.is_dir():
        raise OSError(f"registry snapshot folder not found: {folder}")
    problems: list[str] = []
    if (folder / "manifest.json").is_file():
        from ketamine_evidence.sources.snapshot import load_snapshot

        snap = load_snapshot(folder)
        studies = []
        for f in snap.of("ctgov", "study"):
            try:
                studies.append(json.loads(f.content))
            except ValueError as exc:
                problems.append(f"{f.path}: not JSON ({exc})")
        return studies, problems
    studies = []
    for path in sorted(folder.rglob("*.json")):
        try:
            studies.append(rr.load_study_json(path))
        except (rr.RegistryResultsError, ValueError) as exc:
            problems.append(f"{path.name}: skipped ({exc})")
    return studies, problems


def _included_ncts(characteristics: pd.DataFrame) -> dict[str, str]:
    out = {}
    for sid, ids in zip(characteristics["study_id"], characteristics["nct_ids"], strict=True):
        if not isinstance(ids, str):
            continue
        for nct in ids.split(";"):
            if nct.strip():
                out[nct.strip().upper()] = sid
    return out


def _screened_ncts(screening: pd.DataFrame | None) -> dict[str, str]:
    """NCT ID -> study_id of the registrations the screening includes at full text."""
    if screening is None or screening.empty:
        return {}
    keep = screening[(screening["source"] == "ctgov") & (screening["stage"] == "full_text")
                     & (screening["decision"] == "include")]
    return {str(rid).split("~")[0].upper(): str(sid)
            for rid, sid in zip(keep["record_id"], keep["study_id"], strict=True)}


def registry_tables(
    studies: list[dict], characteristics: pd.DataFrame, extraction: pd.DataFrame,
    screening: pd.DataFrame | None = None, *, vocabulary: VocabularySettings,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(registry_rows, registry_analyses, registry_vs_publication, registry_effects).

    ``vocabulary`` (the configuration's) says which registry group is the experimental arm
    (``arm_pattern``) and what the rating scales are called in outcome titles.

    Studies in ``study_characteristics.csv`` are *confirmed* (a reviewer extracted them);
    registrations that the screening includes but no reviewer has extracted yet (a new trial
    after a refresh) are read too, with ``confirmed`` False, so their posted results show up
    at once as arm rows and as registry-sourced effect rows awaiting confirmation. Only
    confirmed studies are compared with the publication.
    """
    confirmed = _included_ncts(characteristics)
    ncts = {**_screened_ncts(screening), **confirmed}
    arms, analyses = [], []
    for study in studies:
        nct = str(
            ((study.get("protocolSection") or {}).get("identificationModule") or {}).get(
                "nctId", ""
            )
        ).upper()
        if nct not in ncts:
            continue
        arms.append(rr.registry_arm_rows(study))
        analyses.append(rr.registry_analyses(study))
    arm_df = pd.concat(arms, ignore_index=True) if arms else rr.registry_arm_rows(_EMPTY_STUDY)
    an_df = (
        pd.concat(analyses, ignore_index=True) if analyses else rr.registry_analyses(_EMPTY_STUDY)
    )
    arm_df.insert(2, "study_id", arm_df["nct_id"].map(ncts))
    an_df.insert(2, "study_id", an_df["nct_id"].map(ncts))
    arm_df["confirmed"] = arm_df["nct_id"].isin(list(confirmed))
    wide = rr.registry_to_extraction_rows(arm_df, arm1_pattern=vocabulary.arm_pattern,
                                          study_ids=ncts)
    comparison = rr.compare_registry_publication(
        wide[wide["nct_id"].isin(list(confirmed))], extraction, characteristics=characteristics,
        instrument_aliases=vocabulary.instrument_aliases)
    effects = rr.registry_effect_rows(wide, set(confirmed.values()))
    return arm_df, an_df, comparison, effects


_EMPTY_STUDY = {"protocolSection": {"identificationModule": {"nctId": "NCT00000000"}}}


def effects_command(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    if args.crossover_r is not None:
        crossover_r, sensitivity = args.crossover_r, args.crossover_r_sensitivity or ()
    else:
        analysis = settings.analysis
        crossover_r, sensitivity = analysis.crossover_r, analysis.crossover_r_sensitivity
    intervention = (args.intervention if args.intervention is not None
                    else settings.review.intervention)
    vocabulary = settings.vocabulary
    curated = _curated_dir(args)
    sheets = load_curated(curated, vocabulary=vocabulary, require_risk_of_bias=False)
    tables = derive_effects(sheets.extraction, sheets.characteristics,
                            crossover_r=crossover_r, crossover_r_sensitivity=sensitivity,
                            intervention=intervention,
                            continuous_outcomes=vocabulary.continuous_outcomes)
    problems: list[str] = []
    studies: list[dict] = []
    if args.registry_dir is not None:
        studies, problems = _registry_studies(args.registry_dir)
    reg_rows, reg_an, reg_cmp, _ = registry_tables(studies, sheets.characteristics,
                                                   sheets.extraction, vocabulary=vocabulary)
    reg_rows = reg_rows.drop(columns="confirmed")  # all confirmed: curated studies only
    out = args.output_dir
    outputs = {
        "effects.csv": tables.effects,
        "not_poolable.csv": tables.not_poolable,
        "within_arm.csv": tables.within_arm,
        "registry_rows.csv": reg_rows,
        "registry_analyses.csv": reg_an,
        "registry_vs_publication.csv": reg_cmp,
    }
    for name, frame in outputs.items():
        write_table(frame, out / name)
    n_rows = len(sheets.extraction)
    n_eff_rows = len({r for ids in tables.effects["row_ids"] for r in str(ids).split(";")})
    print(
        f"{n_rows} extraction rows: {n_eff_rows} gave {len(tables.effects)} effects "
        f"({int(tables.effects['sensitivity'].sum())} sensitivity rows), "
        f"{len(tables.not_poolable)} not poolable; {len(tables.within_arm)} within-arm rows"
    )
    if args.registry_dir is not None:
        status = reg_cmp["status"].value_counts().to_dict() if len(reg_cmp) else {}
        print(
            f"registry: {reg_rows['nct_id'].nunique()} included studies with posted results, "
            f"{len(reg_rows)} arm rows; comparison {status}"
        )
    for p in problems:
        print(f"registry: {p}")
    return 0


def registry_effects_command(args: argparse.Namespace) -> int:
    """Posted results of every included registration as registry-sourced effect rows."""
    from ketamine_evidence.schemas.records import SCREENING_SCHEMA
    from ketamine_evidence.schemas.records import read_table as read_checked

    vocabulary = load_settings(args.config).vocabulary
    sheets = load_curated(_curated_dir(args), vocabulary=vocabulary, require_risk_of_bias=False)
    studies, problems = _registry_studies(args.registry_dir)
    screening = read_checked(args.screening, SCREENING_SCHEMA)
    arms, _, _, effects = registry_tables(studies, sheets.characteristics, sheets.extraction,
                                          screening, vocabulary=vocabulary)
    write_table(effects, args.output)
    pending = arms[~arms["confirmed"].astype(bool)].drop(columns="confirmed")
    write_table(pending, args.pending_rows)
    waiting = effects[~effects["confirmed"].astype(bool)]
    print(f"registry: {len(effects)} effect rows from posted results, {len(waiting)} of them "
          f"({waiting['nct_id'].nunique()} registrations) awaiting a reviewer's confirmation; "
          f"{len(pending)} arm rows of unconfirmed registrations")
    for p in problems:
        print(f"registry: {p}")
    return 0


def validate_command(args: argparse.Namespace) -> int:
    curated = _curated_dir(args)
    sheets = load_curated(curated, vocabulary=load_settings(args.config).vocabulary,
                          require_risk_of_bias=not args.allow_missing_risk_of_bias)
    optional = ", ".join(
        f"{name}: {'absent' if table is None else f'{len(table)} rows'}"
        for name, table in (
            ("thresholds", sheets.thresholds),
            ("registry facts", sheets.registry_facts),
        )
    )
    print(
        f"{curated}: OK ({len(sheets.extraction)} extraction rows, "
        f"{len(sheets.characteristics)} studies, {len(sheets.risk_of_bias)} risk-of-bias rows; "
        f"{optional})"
    )
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``effects`` and ``validate-sheet`` to the ``ketamine-evidence`` command."""
    p = subparsers.add_parser(
        "effects",
        help="derive effect sizes from the curated sheets (and compare with registry results)",
        description="Validate the curated sheets, derive one effect per study x comparison x "
                    "outcome x timepoint x measure (effects.csv; not_poolable.csv with reasons; "
                    "within_arm.csv) and, with --registry-dir, read the posted ClinicalTrials.gov "
                    "results of the included trials and compare them with the publications.",
    )
    file_option(p, "--config",
                help="review configuration or a settings file; read for the vocabulary "
                     "(outcomes, drugs, registry arm pattern), for analysis.crossover_r and "
                     "crossover_r_sensitivity unless --crossover-r is given, and for "
                     "review.curated_dir unless --curated-dir is given")
    p.add_argument("--crossover-r", type=float, default=None, metavar="R",
                   help="within-person correlation assumed for crossover trials")
    p.add_argument("--crossover-r-sensitivity", type=float, nargs="*", default=None,
                   metavar="R", help="further correlations for the sensitivity rows")
    p.add_argument("--intervention", default=None, metavar="NAME",
                   help="what the derivation text calls arm 1 (default: review.intervention "
                        "of --config)")
    p.add_argument(
        "--curated-dir",
        type=Path,
        default=None,
        help="folder of the curated sheets (default: review.curated_dir of --config)",
    )
    p.add_argument(
        "--registry-dir",
        type=Path,
        default=None,
        help="snapshot folder with manifest.json, or a folder of CT.gov v2 study JSON",
    )
    p.add_argument("--output-dir", "--out-dir", type=Path, default=Path("data/processed"),
                   metavar="DIR", help="folder to write the effect and registry tables into")
    p.set_defaults(func=effects_command)

    p = subparsers.add_parser(
        "validate-sheet",
        help="check the curated sheets against the codebook, listing every problem",
        description="Check extraction.csv, study_characteristics.csv, risk_of_bias.csv and the "
                    "other curated sheets against the codebook; every problem is listed with "
                    "file, row, line and field (exit status 2 when there is any).",
    )
    file_option(p, "--config",
                help="review configuration (for the vocabulary and review.curated_dir)")
    p.add_argument("--curated-dir", type=Path, default=None, metavar="DIR",
                   help="folder of the curated sheets (default: review.curated_dir or data/raw)")
    p.add_argument(
        "--allow-missing-risk-of-bias",
        action="store_true",
        help="do not fail when risk_of_bias.csv does not exist yet",
    )
    p.set_defaults(func=validate_command)

    p = subparsers.add_parser(
        "registry-effects",
        help="effect sizes from the posted ClinicalTrials.gov results of every included "
             "registration, flagged as registry-sourced (never pooled)",
        description="Read the posted results of every registration that the screening "
                    "includes, including new ones that no reviewer has extracted yet, and "
                    "write effect rows (MD and SMD for arm means, RR for counts) flagged "
                    "source=registry with confirmed=False and status "
                    "awaiting_reviewer_confirmation until the study has a row in "
                    "study_characteristics.csv, plus the arm-level rows of those unconfirmed "
                    "registrations. The analyses never pool these rows.",
    )
    file_option(p, "--config", help="review configuration or a settings file, read for the "
                                    "vocabulary and for review.curated_dir unless "
                                    "--curated-dir is given")
    p.add_argument("--curated-dir", type=Path, default=None,
                   help="folder of the curated sheets (default: review.curated_dir)")
    p.add_argument("--registry-dir", type=Path, required=True,
                   help="snapshot folder with manifest.json, or a folder of CT.gov v2 study JSON")
    file_option(p, "--screening", default=None, required=True)
    p.add_argument("-o", "--output", type=Path, metavar="PATH",
                   default=Path("data/processed/registry_effects.csv"),
                   help="where to write the registry effect rows")
    p.add_argument("--pending-rows", type=Path, metavar="PATH",
                   default=Path("data/processed/registry_pending_rows.csv"),
                   help="where to write the arm-level rows of registrations awaiting a reviewer")
    p.set_defaults(func=registry_effects_command)
