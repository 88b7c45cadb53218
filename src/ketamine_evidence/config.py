"""Load and validate ``config.yaml`` against its JSON Schema, filling defaults.

The schema lives in ``workflow/schemas/config.schema.yaml`` beside the workflow (Snakemake's
``validate`` uses the same file). Validation errors name the offending key path, e.g.
``config.yaml: analysis.method: 'XYZ' is not one of ['REML', ...]``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path

import jsonschema
import yaml

from . import KetamineEvidenceError

SCHEMA_RELATIVE = Path("workflow") / "schemas" / "config.schema.yaml"


class ConfigError(KetamineEvidenceError, ValueError):
    """The configuration file is invalid; the message names the file and key."""


def _with_defaults(validator_class):
    """Extend a jsonschema validator so that it fills ``default`` values while validating."""
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, subschema in properties.items():
                if "default" in subschema and name not in instance:
                    instance[name] = copy.deepcopy(subschema["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


_DefaultFillingValidator = _with_defaults(jsonschema.Draft202012Validator)


def find_schema(config_path: Path) -> Path:
    """The config schema of the workflow that ``config_path`` belongs to.

    Looked for beside the config file and in its parent folders, then in the source
    checkout this package is installed from (``pip install -e .``).
    """
    checkout = Path(__file__).resolve().parents[2]
    for folder in [config_path.resolve().parent, *config_path.resolve().parents, checkout]:
        candidate = folder / SCHEMA_RELATIVE
        if candidate.exists():
            return candidate
    raise ConfigError(f"{config_path}: cannot find {SCHEMA_RELATIVE} in this or a parent folder")


def validate_config(config: dict, schema: Mapping, *, source: str = "config") -> dict:
    """Validate ``config`` in place (defaults filled) and check cross-references.

    Raises
    ------
    ConfigError
        Listing every problem, each with its key path.
    """
    validator = _DefaultFillingValidator(schema)
    problems = []
    for error in sorted(validator.iter_errors(config), key=lambda e: list(e.path)):
        path = ".".join(str(p) for p in error.absolute_path) or "(top level)"
        problems.append(f"{source}: {path}: {error.message}")
    if not problems:
        problems.extend(_cross_checks(config, source))
    if problems:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(problems))
    return config


def _cross_checks(config: Mapping, source: str) -> list[str]:
    problems = []
    analyses = config["analysis"]["analyses"]
    ids = [a["id"] for a in analyses]
    for dup in sorted({i for i in ids if ids.count(i) > 1}):
        problems.append(f"{source}: analysis.analyses: id {dup!r} is used twice")
    for i, spec in enumerate(analyses):
        if spec.get("pick") == "closest" and "target_days" not in spec:
            problems.append(f"{source}: analysis.analyses.{i}.target_days: required when "
                            "pick is 'closest'")
        lo, hi = spec.get("window_days", [None, None])
        if lo is not None and hi is not None and lo > hi:
            problems.append(f"{source}: analysis.analyses.{i}.window_days: {lo} > {hi}")
    claim_ids = [c["id"] for c in config["claims"]]
    for dup in sorted({i for i in claim_ids if claim_ids.count(i) > 1}):
        problems.append(f"{source}: claims: id {dup!r} is used twice")
    for i, claim in enumerate(config["claims"]):
        for key in ("analysis", "comparator_analysis"):
            if key in claim and claim[key] not in ids:
                problems.append(f"{source}: claims.{i}.{key}: {claim[key]!r} is not an "
                                "analysis id in analysis.analyses")
        assertion = claim.get("assertion") or {}
        if assertion.get("analysis") and assertion["analysis"] not in ids:
            problems.append(f"{source}: claims.{i}.assertion.analysis: "
                            f"{assertion['analysis']!r} is not an analysis id in "
                            "analysis.analyses")
        lo, hi = claim["claimed_range"]
        if lo is not None and hi is not None and lo > hi:
            problems.append(f"{source}: claims.{i}.claimed_range: lower bound above upper")
        for j, fallback in enumerate(claim.get("fallback_analyses", [])):
            where = f"{source}: claims.{i}.fallback_analyses.{j}"
            if fallback["analysis"] not in ids:
                problems.append(f"{where}.analysis: {fallback['analysis']!r} is not an "
                                "analysis id in analysis.analyses")
            if fallback["metric"] != claim["metric"] and any(
                    bound not in (None, 0) for bound in (lo, hi)):
                problems.append(f"{where}.metric: a fallback on another scale needs a "
                                "scale-free claimed range (bounds 0 or null)")
    return problems


def load_config(path: str | Path, schema_path: str | Path | None = None) -> dict:
    """Read, validate and default-fill a review configuration file."""
    path = Path(path)
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of keys")
    schema_file = Path(schema_path) if schema_path else find_schema(path)
    schema = yaml.safe_load(schema_file.read_text(encoding="utf-8"))
    return validate_config(config, schema, source=path.name)
