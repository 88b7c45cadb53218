# Helpers shared by the rules. Rules only wire files to `ketamine-evidence` subcommands;
# all science lives in the package. Rules get these values through `params:` (and the config
# file through `input:`), so Snakemake tracks them and `snakemake --lint` stays clean.
import hashlib
import importlib.util
import os
import shlex
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.settings.types import DeploymentMethod

from ketamine_evidence.cli.changes import version_inputs
from ketamine_evidence.config import SECTIONS, settings_from_mapping, settings_slice, validate_config

# The configuration Snakemake resolved (config.yaml plus --configfile / --config overrides),
# validated once against the package's schema, which fills every default.
validate_config(config, source=", ".join(map(str, workflow.configfiles)) or "config")

# By default the interpreter running Snakemake also has the package installed (see README /
# Makefile). With `--sdm conda` each rule runs in workflow/envs/ketamine-evidence.yaml instead.
if DeploymentMethod.CONDA in workflow.deployment_settings.deployment_method:
    KE = "python -m ketamine_evidence.cli"
else:
    KE = f'"{sys.executable}" -m ketamine_evidence.cli'
# The folders and the previous version, read as the package reads them (config.Settings).
REVIEW = settings_from_mapping({"review": config["review"]}, source="config").review
SNAPSHOT = REVIEW.snapshot_dir
CURATED = REVIEW.curated_dir
# Where results/, data/processed/ and logs/ go: the workflow's folder by default, another
# folder for another review (review.output_root), so that reviews do not overwrite each other.
OUT = "" if REVIEW.output_root in ("", ".") else os.path.join(REVIEW.output_root, "")


def snapshot_files(wildcards=None):
    """Every file of the committed raw snapshot, so a refresh re-triggers the pipeline."""
    return sorted(str(p) for p in Path(SNAPSHOT).rglob("*") if p.is_file())


def optional_curated(name):
    """An input function: a curated file that a review may not have (``[]`` when absent)."""
    return lambda wildcards: [str(p)] if (p := Path(CURATED) / name).exists() else []


def parent_of(name):
    """A `params:` function: the folder holding the named input (e.g. the snapshot folder)."""
    return lambda wildcards, input: str(Path(input[name]).parent)


def package_fingerprint():
    """SHA-256 over the package's source, templates and styles.

    Every rule takes it as a parameter, so a change to the science code re-runs the steps it
    could affect (Snakemake's own code trigger only sees the rule's shell command).
    """
    source = Path(workflow.basedir) / "src" / "ketamine_evidence"
    if not source.is_dir():
        spec = importlib.util.find_spec("ketamine_evidence")
        source = Path(spec.origin).parent if spec and spec.origin else None
    digest = hashlib.sha256()
    files = [] if source is None else sorted(
        p for p in source.rglob("*") if p.suffix in {".py", ".j2", ".css", ".json", ".yaml"})
    for path in files:
        digest.update(str(path.relative_to(source)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


PACKAGE_CODE = package_fingerprint()


# Which configuration sections each step reads. A step gets them in its own settings file,
# rewritten only when its content changes, so a rule re-runs only when a value it uses changed
# (e.g. a claim's wording re-runs claims, figures and report, never effects or analyze).
# `effects` uses two values only (analysis.crossover_r*), passed as params in extract.smk.
STEP_SECTIONS = {
    "screen": ["eligibility"],
    "effects": ["vocabulary"],
    "registry_effects": ["vocabulary"],
    "analyze": ["analysis"],
    "claims": ["review", "analysis", "certainty", "claims"],
    "figures": ["review", "vocabulary", "claims"],  # analyses: results/analyses.json
}
# The report takes the whole configuration (resolved_config): it shows every section and
# names the config's hash in its header.


def _write_if_changed(path, text):
    """Write ``text`` to ``path`` unless it already holds it (so its time stamp says when the
    content last changed); return the path as a string."""
    path = Path(path)
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return str(path)


def step_settings(step):
    """Path of the step's settings file (JSON), written now if its content changed."""
    return _write_if_changed(Path(f"{OUT}results") / "settings" / f"{step}.json",
                             settings_slice(config, step, STEP_SECTIONS[step]))


def resolved_config():
    """Path of the whole configuration Snakemake resolved (config.yaml, --configfile and
    --config overrides, defaults filled) as JSON: ``results/settings/config.json``.

    Its SHA-256 is the config hash of the build stamp and of the report's header, so a run
    with an override (``--config ...``) is told apart from one without. The report takes it as
    its settings (it shows every section, and its header names this hash).
    """
    return _write_if_changed(Path(f"{OUT}results") / "settings" / "config.json",
                             settings_slice(config, "all", SECTIONS))


def previous_version_files(wildcards=None):
    """An input function: the files of the previous version that `changes` compares with
    (review.previous_version), or none when no previous version is configured, so Snakemake
    requires nothing then."""
    if REVIEW.previous_version is None:
        return []
    return version_inputs(REVIEW.previous_version, REVIEW.previous_snapshot)


def previous_version_options(wildcards=None):
    """A `params:` function: the `diff` options naming the previous version, or ``""``."""
    if REVIEW.previous_version is None:
        return ""
    options = f"--old {shlex.quote(REVIEW.previous_version)}"
    if REVIEW.previous_snapshot is not None:
        options += f" --old-snapshot {shlex.quote(REVIEW.previous_snapshot)}"
    return options

def source_digest():
    """SHA-256 over the content of the review's sources: the curated sheets (`*.csv` in
    the curated folder) and every snapshot file. (Configuration values reach the steps
    through their settings files, rewritten only when a value a step uses changes.)

    Snakemake compares modification times (and only records, never compares, input
    checksums), so an edit that keeps an older time stamp (a copy with `cp -p`, `rsync -a`,
    an unpacked archive, a restored backup) would leave "Nothing to be done". Every rule takes
    this digest as a parameter (a plain value: Snakemake ignores parameter functions when it
    looks for changes), so any change of content re-runs the steps. A deleted sheet that a
    rule needs is Snakemake's own missing-input error.
    """
    files = sorted(Path(CURATED).glob("*.csv")) + [Path(p) for p in snapshot_files()]
    digest = hashlib.sha256()
    for path in files:
        if path.is_file():
            digest.update(str(path).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


SOURCES = source_digest()

# The curated sheets every review needs. A missing one is an error before anything runs:
# Snakemake itself keeps existing outputs whose inputs vanished ("Nothing to be done" or a
# partial re-run), which would leave results built from a sheet that no longer exists.
REQUIRED_SHEETS = ("extraction.csv", "study_characteristics.csv", "risk_of_bias.csv",
                   "known_reports.csv", "screening_overrides.csv")
_missing = [str(Path(CURATED) / name) for name in REQUIRED_SHEETS
            if not (Path(CURATED) / name).is_file()]
if _missing:
    raise WorkflowError(
        "Missing input files (curated sheets the review needs): " + ", ".join(_missing)
        + ". Restore them (e.g. `git checkout -- <file>`) or point review.curated_dir in "
        "the config at the folder that holds them."
    )


def mark_stamp_stale(path, log):
    """`onerror`: mark the build stamp of the last complete build as stale (plain JSON, so
    it works whatever environment the steps use)."""
    import datetime as _dt
    import json as _json

    stamp = Path(path)
    if not stamp.is_file():
        return
    data = _json.loads(stamp.read_text(encoding="utf-8"))
    data["status"] = "stale"
    when = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    data["stale_note"] = (f"the run of {when} failed; outputs may be older than the sources "
                          f"and the code (Snakemake log: {log})")
    stamp.write_text(_json.dumps(data, indent=2) + "\n", encoding="utf-8")

