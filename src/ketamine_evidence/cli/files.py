"""The review's files as command-line options: one default path and one description each.

The subcommands hand each other files (``data/processed/screening.csv``, ``results/pooled.csv``
...). Each file has one entry in :data:`FILES`, its option with the default path and what the
file is, and :func:`file_option` adds it to a subcommand, so that a path or a description is
written once whichever subcommands read the file.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

#: option -> (default path, what the file is)
FILES: dict[str, tuple[str, str]] = {
    "--config": ("config.yaml", "the review configuration"),
    "--manifest": ("data/raw/snapshot/manifest.json", "the snapshot's retrieval manifest"),
    "--characteristics": ("data/raw/study_characteristics.csv",
                          "curated study characteristics"),
    "--risk-of-bias": ("data/raw/risk_of_bias.csv", "curated RoB 2 judgements"),
    "--published-syntheses": ("data/raw/published_syntheses.csv",
                              "published meta-analyses, shown for context (never pooled)"),
    "--registry-facts": ("data/raw/registry_facts.csv",
                         "curated registry facts (changed primary outcome, time point, "
                         "enrolment)"),
    "--records": ("data/processed/records.csv", "records table written by 'records'"),
    "--studies": ("data/processed/studies.csv", "studies table written by 'records'"),
    "--screening": ("data/processed/screening.csv", "screening decisions written by 'screen'"),
    "--prisma": ("data/processed/prisma.json", "PRISMA 2020 counts written by 'prisma'"),
    "--effects": ("data/processed/effects.csv", "effects table written by 'effects'"),
    "--not-poolable": ("data/processed/not_poolable.csv",
                       "results that could not be pooled, written by 'effects'"),
    "--within-arm": ("data/processed/within_arm.csv",
                     "within-arm changes from baseline, written by 'effects'"),
    "--registry-vs-publication": ("data/processed/registry_vs_publication.csv",
                                  "registry versus publication, written by 'effects'"),
    "--pooled": ("results/pooled.csv", "one row per pooled analysis, written by 'analyze'"),
    "--study-effects": ("results/study_effects.csv",
                        "the rows each analysis pooled, with weights, written by 'analyze'"),
    "--sensitivity": ("results/sensitivity.csv",
                      "leave-one-out, cumulative, crossover r, estimator and prior "
                      "sensitivity, written by 'analyze'"),
    "--moderators": ("results/moderators.csv",
                     "subgroup analyses and meta-regressions, written by 'analyze'"),
    "--analyses": ("results/analyses.json", "the fits saved by 'analyze'"),
    "--posterior": ("results/bayes_posterior.csv",
                    "Bayesian posteriors written by 'analyze --out-posterior'"),
    "--claims": ("results/claims.csv", "claims with verdicts, written by 'claims'"),
    "--certainty": ("results/certainty.csv",
                    "GRADE judgements per claim or analysis and domain, written by 'claims'"),
    "--summary-of-findings": ("results/summary_of_findings.csv",
                              "GRADE Summary-of-findings table, written by 'claims'"),
    "--claim-studies": ("results/claim_studies.csv",
                        "every trial that reported each claim's outcome, with its direction "
                        "of effect, written by 'claims'"),
    "--figures-dir": ("results/figures", "folder of the figures written by 'figures'"),
    "--changes": ("results/changes.json",
                  "what changed since the previous version (ketamine-evidence diff --json)"),
}

def file_option(parser: argparse.ArgumentParser, option: str, *, default: Any = ...,
                help: str | None = None, **kwargs: Any) -> argparse.Action:
    """Add the file ``option`` of :data:`FILES` to ``parser`` (a :class:`~pathlib.Path`).

    ``default`` replaces the path of :data:`FILES` (``None``: an optional input, off unless
    given); ``help`` replaces what the file is; other keywords go to ``add_argument``.
    """
    path, what = FILES[option]
    value = Path(path) if default is ... else default
    metavar = "DIR" if option.endswith("-dir") else "PATH"
    return parser.add_argument(option, type=Path, default=value,
                               metavar=kwargs.pop("metavar", metavar),
                               help=help or what, **kwargs)


def review_folders(args: argparse.Namespace, *names: str) -> tuple[Path, ...]:
    """The review's folders ``names`` (e.g. ``"snapshot_dir"``, ``"curated_dir"``): each the
    option of that name when given (``--snapshot-dir``), else ``review.<name>`` of ``--config``.

    The config is read only when a folder was not given, so a step given every folder on the
    command line needs no config.
    """
    from ketamine_evidence.config import load_settings

    given = [getattr(args, name) for name in names]
    review = None if all(given) else load_settings(args.config).review
    return tuple(Path(value or getattr(review, name)) for value, name in zip(given, names,
                                                                               strict=True))
