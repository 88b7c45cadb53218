"""Reading the workflow's outputs into :class:`ReportInputs` and writing the report file."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from ketamine_evidence.analysis.fits import read_recorded_settings
from ketamine_evidence.config import (
    Settings,
    load_settings,
)
from ketamine_evidence.extraction import read_registry_facts
from ketamine_evidence.tables import read_optional_table, write_text

from .build import build_report
from .format import _num
from .model import FIGURES_PATH, INPUT_DESCRIPTIONS, SOFTWARE, ReportInputs

# --------------------------------------------------------------------------------------------
# IO
# --------------------------------------------------------------------------------------------


SYNTHESES_REQUIRED = ("synthesis_id", "outcome", "source_id", "location")
SYNTHESES_NUMERIC = ("estimate", "ci_low", "ci_high")


def read_published_syntheses(path: str | Path | None) -> pd.DataFrame | None:
    """``published_syntheses.csv`` with every cell kept as printed (text), checked.

    Published meta-analyses are shown for context only; their numbers are never pooled.
    Cells are read as text so that values appear exactly as the curator typed them from the
    source. Raises ``ValueError`` naming the file, row and field when a required field is
    empty or a number column holds something that is not a number.
    """
    if path is None or not Path(path).is_file():
        return None
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    problems = [f"{Path(path).name}: missing column {c}" for c in
                (*SYNTHESES_REQUIRED, *SYNTHESES_NUMERIC) if c not in table]
    for i, row in table.iterrows():
        where = f"{Path(path).name} row {i + 1} (line {i + 2}; {row.get('synthesis_id', '')})"
        problems += [f"{where}: {c} is empty" for c in SYNTHESES_REQUIRED
                     if c in table and not row[c].strip()]
        for c in SYNTHESES_NUMERIC:
            if c in table and row[c].strip() and _num(row[c]) is None:
                problems.append(f"{where}: {c} is not a number ({row[c]!r})")
    if problems:
        raise ValueError("invalid published syntheses:\n  " + "\n  ".join(problems))
    return table


def read_json(path: str | Path | None) -> dict[str, Any] | None:
    """A JSON object; ``None`` when absent, ``{}`` when the file is empty."""
    if path is None:
        return None
    path = Path(path)
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8").strip()
    if not text:
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err.msg} at line {err.lineno})") from err
    return data if isinstance(data, dict) else {"content": data}


def read_figures(figures_dir: str | Path | None,
                 extra: Iterable[str | Path] = ()) -> dict[str, bytes]:
    """PNG files of ``figures_dir`` (and ``extra`` paths) keyed by file stem."""
    paths: list[Path] = []
    if figures_dir is not None and Path(figures_dir).is_dir():
        paths.extend(sorted(Path(figures_dir).glob("*.png")))
    paths.extend(Path(p) for p in extra)
    return {p.stem: p.read_bytes() for p in paths if p.is_file()}


def software_versions() -> dict[str, str]:
    """Versions of Python, this package and the scientific libraries it depends on."""
    import platform
    from importlib import metadata

    versions = {"python": platform.python_version()}
    for dist in SOFTWARE[1:]:
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = "not installed"
    return versions


def read_settings(path: str | Path | None) -> Settings | None:
    """The settings in ``path`` (a step's settings file or ``config.yaml``); None if absent."""
    if path is None or not Path(path).is_file():
        return None
    return load_settings(path)


def load_report_inputs(
    *,
    claims: str | Path | None = "results/claims.csv",
    pooled: str | Path | None = "results/pooled.csv",
    study_effects: str | Path | None = "results/study_effects.csv",
    sensitivity: str | Path | None = "results/sensitivity.csv",
    moderators: str | Path | None = "results/moderators.csv",
    figures_dir: str | Path | None = "results/figures",
    figures: Iterable[str | Path] = (),
    prisma: str | Path | None = "data/processed/prisma.json",
    studies: str | Path | None = "data/processed/studies.csv",
    screening: str | Path | None = "data/processed/screening.csv",
    characteristics: str | Path | None = "data/raw/study_characteristics.csv",
    risk_of_bias: str | Path | None = "data/raw/risk_of_bias.csv",
    not_poolable: str | Path | None = "data/processed/not_poolable.csv",
    registry_vs_publication: str | Path | None = "data/processed/registry_vs_publication.csv",
    within_arm: str | Path | None = "data/processed/within_arm.csv",
    published_syntheses: str | Path | None = "data/raw/published_syntheses.csv",
    registry_facts: str | Path | None = "data/raw/registry_facts.csv",
    certainty: str | Path | None = "results/certainty.csv",
    summary_of_findings: str | Path | None = "results/summary_of_findings.csv",
    claim_studies: str | Path | None = "results/claim_studies.csv",
    records: str | Path | None = "data/processed/records.csv",
    manifest: str | Path | None = "data/raw/snapshot/manifest.json",
    changes: str | Path | None = None,
    config: str | Path | Settings | Mapping[str, Any] | None = "config.yaml",
    analyses: str | Path | None = "results/analyses.json",
    versions: Mapping[str, str] | None = None,
    generated_on: str | None = None,
) -> ReportInputs:
    """Read every input of the report; a missing file becomes ``None``, never an error.

    Paths are relative to the working directory (the workflow's root). ``config`` may be a
    path (``config.yaml`` or the report step's settings file), a :class:`Settings` or a
    mapping (validated). ``analyses`` is the analyze step's ``analyses.json``: the Methods are
    written from the analysis settings it recorded. ``figures`` adds PNG files by path
    to those found in ``figures_dir``. The report names each input by the path given here
    (``ReportInputs.paths``); one given as ``None`` by where the config keeps it.
    """
    given = locals()  # the paths above, by input name
    paths = {name: str(given[name]) for name in INPUT_DESCRIPTIONS if given[name] is not None}
    if figures_dir is not None:
        paths["figures"] = str(Path(figures_dir) / Path(FIGURES_PATH).name)
    cfg = config if isinstance(config, Settings | Mapping) else read_settings(config)
    recorded = (read_recorded_settings(analyses)
                if analyses is not None and Path(analyses).is_file() else None)
    return ReportInputs(
        claims=read_optional_table(claims),
        pooled=read_optional_table(pooled),
        study_effects=read_optional_table(study_effects),
        sensitivity=read_optional_table(sensitivity),
        moderators=read_optional_table(moderators),
        studies=read_optional_table(studies),
        screening=read_optional_table(screening),
        characteristics=read_optional_table(characteristics),
        risk_of_bias=read_optional_table(risk_of_bias),
        not_poolable=read_optional_table(not_poolable),
        registry_vs_publication=read_optional_table(registry_vs_publication),
        within_arm=read_optional_table(within_arm),
        published_syntheses=read_published_syntheses(published_syntheses),
        registry_facts=(read_registry_facts(registry_facts)
                        if registry_facts is not None else None),
        certainty=read_optional_table(certainty),
        summary_of_findings=read_optional_table(summary_of_findings),
        claim_studies=read_optional_table(claim_studies),
        records=read_optional_table(records),
        prisma=read_json(prisma),
        manifest=read_json(manifest),
        changes=read_json(changes),
        config=cfg,
        recorded_analysis=recorded,
        versions=dict(versions) if versions is not None else software_versions(),
        figures=read_figures(figures_dir, figures),
        generated_on=generated_on,
        paths=paths,
    )


def write_report(inputs: ReportInputs, out: str | Path) -> Path:
    """Build the report and write it to ``out`` (UTF-8), creating the folder if needed.

    The file is written to a temporary name first and renamed, so a failure leaves no partial
    report behind.
    """
    return write_text(build_report(inputs), out)
