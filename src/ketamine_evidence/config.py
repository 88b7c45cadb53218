"""The review configuration: validated once against its JSON Schema, then one frozen object.

The schema ships inside the package (``ketamine_evidence/data/config.schema.yaml``), so a
non-editable install finds it. It is the only place defaults live: validation fills them, and
every object in it rejects unknown keys, so a typo such as ``design_termz`` fails naming the key
instead of silently switching a rule off. After validation the configuration becomes a
:class:`Settings` object (frozen dataclasses, tuples instead of lists, read-only mappings);
code reads attributes (``settings.analysis.method``) and never restates a default.

The workflow (``Snakefile``) validates the configuration Snakemake resolved (``config.yaml`` plus
any ``--configfile`` / ``--config`` overrides) and writes, for each step, a JSON *settings file*
with only the sections that step uses (:func:`settings_slice`). A step's ``--config`` option
accepts such a file or a whole ``config.yaml``; both go through :func:`load_settings`. A step
that touches a section its settings file does not carry fails with a message saying so, which
keeps each rule's declared dependencies honest.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

import jsonschema
import yaml

from . import KetamineEvidenceError

SCHEMA_RESOURCE = "data/config.schema.yaml"
SECTIONS = ("review", "search", "eligibility", "vocabulary", "analysis", "certainty", "claims")
# The key that marks a per-step settings file written by the workflow (see settings_slice).
SLICE_KEY = "settings_for_step"


class ConfigError(KetamineEvidenceError, ValueError):
    """The configuration file is invalid; the message names the file and key."""


def schema_path() -> Path:
    """Path of the config JSON Schema shipped inside the package."""
    return Path(str(resources.files("ketamine_evidence").joinpath(SCHEMA_RESOURCE)))


@cache
def _packaged_schema_text() -> str:
    return resources.files("ketamine_evidence").joinpath(SCHEMA_RESOURCE).read_text("utf-8")


def load_schema() -> dict:
    """The config JSON Schema (a fresh copy each call)."""
    return yaml.safe_load(_packaged_schema_text())


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


def validate_config(config: dict, schema: Mapping | None = None, *,
                    source: str = "config") -> dict:
    """Validate ``config`` in place (defaults filled) and check cross-references.

    Parameters
    ----------
    config : dict
        The parsed configuration; changed in place (defaults added).
    schema : mapping, optional
        Defaults to the packaged schema (:func:`load_schema`).
    source : str
        File name used in messages.

    Raises
    ------
    ConfigError
        Listing every problem, each with its key path (an unknown key is named).
    """
    validator = _DefaultFillingValidator(load_schema() if schema is None else schema)
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
    """References between sections; sections absent from a step's settings are skipped."""
    problems = []
    analyses = config["analysis"]["analyses"] if "analysis" in config else None
    ids = [a["id"] for a in analyses or []]
    for dup in sorted({i for i in ids if ids.count(i) > 1}):
        problems.append(f"{source}: analysis.analyses: id {dup!r} is used twice")
    for i, spec in enumerate(analyses or []):
        if spec["pick"] == "closest" and "target_days" not in spec:
            problems.append(f"{source}: analysis.analyses.{i}.target_days: required when "
                            "pick is 'closest'")
        lo, hi = spec["window_days"]
        if lo is not None and hi is not None and lo > hi:
            problems.append(f"{source}: analysis.analyses.{i}.window_days: {lo} > {hi}")
    if "claims" not in config:
        return problems
    claim_ids = [c["id"] for c in config["claims"]]
    for dup in sorted({i for i in claim_ids if claim_ids.count(i) > 1}):
        problems.append(f"{source}: claims: id {dup!r} is used twice")
    for i, claim in enumerate(config["claims"]):
        lo, hi = claim["claimed_range"]
        if lo is not None and hi is not None and lo > hi:
            problems.append(f"{source}: claims.{i}.claimed_range: lower bound above upper")
        for j, fallback in enumerate(claim["fallback_analyses"]):
            if fallback["metric"] != claim["metric"] and any(
                    bound not in (None, 0) for bound in (lo, hi)):
                problems.append(f"{source}: claims.{i}.fallback_analyses.{j}.metric: a "
                                "fallback on another scale needs a scale-free claimed range "
                                "(bounds 0 or null)")
        if analyses is None:
            continue
        refs = [(key, claim[key]) for key in ("analysis", "comparator_analysis") if key in claim]
        refs += [(f"fallback_analyses.{j}.analysis", f["analysis"])
                 for j, f in enumerate(claim["fallback_analyses"])]
        if claim.get("assertion", {}).get("analysis"):
            refs.append(("assertion.analysis", claim["assertion"]["analysis"]))
        for key, ref in refs:
            if ref not in ids:
                problems.append(f"{source}: claims.{i}.{key}: {ref!r} is not an "
                                "analysis id in analysis.analyses")
    return problems


def _read_mapping(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at "
                          f"offset {exc.start}); save the file as UTF-8") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of keys")
    return data


def load_config(path: str | Path, schema_path: str | Path | None = None) -> dict:
    """Read, validate and default-fill a whole review configuration file (a plain dict)."""
    path = Path(path)
    config = _read_mapping(path)
    schema = yaml.safe_load(Path(schema_path).read_text("utf-8")) if schema_path else None
    return validate_config(config, schema, source=path.name)


# -- the typed, frozen settings object ---------------------------------------------------


def _freeze(value: Any) -> Any:
    """Lists become tuples and dicts read-only mappings, recursively."""
    if isinstance(value, Mapping):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    return value


def _thaw(value: Any) -> Any:
    """The inverse of :func:`_freeze` (and of dataclasses), for JSON and YAML."""
    if dataclasses.is_dataclass(value):
        return {f.name: _thaw(getattr(value, f.name)) for f in dataclasses.fields(value)
                if not (getattr(value, f.name) is None and f.metadata.get("optional"))}
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_thaw(v) for v in value]
    return value


def _optional():
    """A key the schema allows to be absent and gives no default (``None`` when absent)."""
    return dataclasses.field(default=None, metadata={"optional": True})


class _Section:
    """Build a frozen section from its validated mapping; keys are the schema's properties."""

    _nested: dict[str, Any] = {}
    # Where the section's subschema sits: "properties" is implied between names, "items"
    # steps into an array's item schema.
    _schema_path: tuple[str, ...] = ()

    @classmethod
    def coerce(cls, value):
        """``value`` itself if already built, else a mapping validated against the section's
        subschema (defaults filled from the schema) and frozen.

        For callers that build a section by hand (tests, notebooks); the workflow builds the
        whole :class:`Settings` at once.
        """
        if isinstance(value, cls):
            return value
        if not cls._schema_path:
            raise TypeError(f"{cls.__name__} cannot be built from a mapping on its own")
        schema = load_schema()
        for name in cls._schema_path:
            schema = schema["items"] if name == "items" else schema["properties"][name]
        item = copy.deepcopy(dict(value))
        where = ".".join(n for n in cls._schema_path if n != "items")
        if "id" in item:
            where += f" {item['id']!r}"
        problems = [f"{where}: {'.'.join(str(p) for p in e.absolute_path) or '(top)'}: "
                    f"{e.message}" for e in _DefaultFillingValidator(schema).iter_errors(item)]
        if problems:
            raise ConfigError("invalid configuration:\n  " + "\n  ".join(problems))
        return cls.from_mapping(item)

    @classmethod
    def from_mapping(cls, data: Mapping):
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:  # the schema allows a key this class does not hold: a programming error
            raise ConfigError(f"{cls.__name__}: no field for {', '.join(unknown)}")
        values = {}
        for key, value in data.items():
            nested = cls._nested.get(key)
            if nested is not None and value is not None:
                value = tuple(nested.from_mapping(v) for v in value) \
                    if isinstance(value, list | tuple) else nested.from_mapping(value)
            values[key] = _freeze(value)
        try:
            return cls(**values)
        except TypeError as exc:
            raise ConfigError(f"{cls.__name__}: {exc}") from None

    def to_dict(self) -> dict:
        """Plain dicts and lists (JSON-ready), as in the validated configuration."""
        return _thaw(self)


@dataclass(frozen=True)
class ReviewSettings(_Section):
    """``review``: title, the folders the review reads, and the words of its question
    (turned into labels by :mod:`ketamine_evidence.wording`)."""

    _schema_path = ("review",)

    title: str
    snapshot_dir: str
    curated_dir: str
    output_root: str
    intervention: str
    previous_version: str | None
    previous_snapshot: str | None
    comparator: str
    population: str
    condition: str
    question: str
    summary: str
    pico: Mapping[str, str]
    prevention: str
    synthetic_data: bool


@dataclass(frozen=True)
class PubMedSearch(_Section):
    term: str
    batch_size: int


@dataclass(frozen=True)
class CTGovSearch(_Section):
    conditions: tuple[str, ...]
    interventions: tuple[str, ...]
    page_size: int


@dataclass(frozen=True)
class SearchSettings(_Section):
    """``search``: the PubMed query and date window, ClinicalTrials.gov terms."""

    _schema_path = ("search",)

    date_from: str
    date_to: str | None
    pubmed: PubMedSearch
    ctgov: CTGovSearch

    _nested = {"pubmed": PubMedSearch, "ctgov": CTGovSearch}


@dataclass(frozen=True)
class EligibilitySettings(_Section):
    """``eligibility``: the screening rules (see :mod:`ketamine_evidence.screening.eligibility`)."""

    _schema_path = ("eligibility",)

    population_terms: tuple[str, ...]
    intervention_terms: tuple[str, ...]
    population_label: str
    intervention_label: str
    design_publication_types: tuple[str, ...]
    design_terms: tuple[str, ...]
    exclude_publication_types: Mapping[str, tuple[str, ...]]
    animal_terms: tuple[str, ...]
    registry_allocation: tuple[str, ...]
    protocol_publication_types: tuple[str, ...]


@dataclass(frozen=True)
class VocabularySettings(_Section):
    """``vocabulary``: the review's drugs and outcomes, and how registry records name its
    experimental arm and rating scales."""

    _schema_path = ("vocabulary",)

    drugs: tuple[str, ...]
    outcomes: Mapping[str, Mapping[str, Any]]
    arm_pattern: str
    instrument_aliases: Mapping[str, tuple[str, ...]]
    sheet_columns: Mapping[str, str]
    dose_unit: str

    def sheet_column(self, name: str) -> str:
        """What this review's ``study_characteristics.csv`` calls the codebook column
        ``name`` (its codebook name unless ``sheet_columns`` renames it)."""
        return self.sheet_columns.get(name, name)

    def outcomes_where(self, key: str, value: Any) -> frozenset[str]:
        """The outcome ids whose ``key`` (``scale``, ``better``, ``harm``) is ``value``."""
        return frozenset(o for o, spec in self.outcomes.items() if spec[key] == value)

    @property
    def continuous_outcomes(self) -> frozenset[str]:
        """Outcomes scored on a continuous scale (means; SMD, MD, ROM)."""
        return self.outcomes_where("scale", "continuous")


@dataclass(frozen=True)
class AnalysisSpec(_Section):
    """One pre-specified pooled analysis (an item of ``analysis.analyses``)."""

    id: str
    title: str
    outcome: str
    measure: str
    question: str
    window_days: tuple[float | None, float | None]
    pick: str
    filters: Mapping[str, tuple]
    subgroups: tuple[str, ...]
    moderators: tuple[str, ...]
    target_days: float | None = _optional()

    _schema_path = ("analysis", "analyses", "items")


@dataclass(frozen=True)
class AnalysisSettings(_Section):
    """``analysis``: estimator, test, intervals, crossover correlation, the analyses."""

    _schema_path = ("analysis",)

    method: str
    test: str
    level: float
    pi_df: str | None
    crossover_r: float
    crossover_r_sensitivity: tuple[float, ...]
    instrument_priority: tuple[str, ...]
    smd_benchmarks: Mapping[str, float]
    bayes: Mapping[str, Any]
    analyses: tuple[AnalysisSpec, ...]

    _nested = {"analyses": AnalysisSpec}

    def analysis(self, analysis_id: str) -> AnalysisSpec:
        """The analysis with this id (``KeyError`` naming it when there is none)."""
        for spec in self.analyses:
            if spec.id == analysis_id:
                return spec
        raise KeyError(f"no analysis {analysis_id!r} in analysis.analyses")


@dataclass(frozen=True)
class CertaintySection(_Section):
    """``certainty``: thresholds of the GRADE rules and who rates each instrument."""

    _schema_path = ("certainty",)

    ois_participants_continuous: float
    ois_relative_risk_reduction: float
    ois_alpha: float
    ois_power: float
    i2_serious: float
    i2_very_serious: float
    min_k_small_study: int
    small_study_alpha: float
    instrument_raters: Mapping[str, str]


@dataclass(frozen=True)
class FallbackAnalysis(_Section):
    analysis: str
    metric: str


@dataclass(frozen=True)
class ClaimSpec(_Section):
    """One claim to test (an item of ``claims``)."""

    id: str
    text: str
    quote: str
    population: str
    outcome: str
    timepoint: str
    analysis: str
    fallback_analyses: tuple[FallbackAnalysis, ...]
    metric: str
    claimed_range: tuple[float | None, float | None]
    narrative_outcomes: tuple[str, ...]
    meaningful: tuple[Mapping[str, str], ...]
    directness: Mapping[str, Any]
    comparator_analysis: str | None = _optional()
    within_arm_instrument_outcome: str | None = _optional()
    assertion: Mapping[str, str] | None = _optional()

    _nested = {"fallback_analyses": FallbackAnalysis}

    _schema_path = ("claims", "items")


_SECTION_TYPES = {"review": ReviewSettings, "search": SearchSettings,
                  "eligibility": EligibilitySettings, "vocabulary": VocabularySettings,
                  "analysis": AnalysisSettings,
                  "certainty": CertaintySection}


@dataclass(frozen=True)
class Settings:
    """The validated review configuration, or the slice of it one workflow step was given.

    Each section is an attribute; reading a section the settings do not carry raises
    :class:`ConfigError` naming it (a step used a value its rule does not depend on).
    """

    sections: Mapping[str, Any]
    source: str = "config"

    def _section(self, name: str):
        try:
            return self.sections[name]
        except KeyError:
            raise ConfigError(
                f"{self.source}: these settings do not carry '{name}' (carried: "
                f"{', '.join(self.sections) or 'nothing'}); add it to the step's settings "
                "slice in workflow/rules/common.smk") from None

    @property
    def review(self) -> ReviewSettings:
        return self._section("review")

    @property
    def search(self) -> SearchSettings:
        return self._section("search")

    @property
    def eligibility(self) -> EligibilitySettings:
        return self._section("eligibility")

    @property
    def vocabulary(self) -> VocabularySettings:
        return self._section("vocabulary")

    @property
    def analysis(self) -> AnalysisSettings:
        return self._section("analysis")

    @property
    def certainty(self) -> CertaintySection:
        return self._section("certainty")

    @property
    def claims(self) -> tuple[ClaimSpec, ...]:
        return self._section("claims")

    def has(self, name: str) -> bool:
        """Whether these settings carry section ``name``."""
        return name in self.sections

    def to_dict(self) -> dict:
        """The validated configuration (or slice) as plain JSON-ready data."""
        return {name: _thaw(value) for name, value in self.sections.items()}

    @classmethod
    def from_config(cls, config: Mapping, *, source: str = "config") -> Settings:
        """Build from an already validated (default-filled) configuration or slice."""
        sections: dict[str, Any] = {}
        for name in SECTIONS:
            if name not in config:
                continue
            if name == "claims":
                sections[name] = tuple(ClaimSpec.from_mapping(c) for c in config[name])
            else:
                sections[name] = _SECTION_TYPES[name].from_mapping(config[name])
        return cls(MappingProxyType(sections), source)


def settings_from_config(config: dict, *, source: str = "config") -> Settings:
    """Validate a whole configuration (in place, defaults filled) and freeze it."""
    return Settings.from_config(validate_config(config, source=source), source=source)


#: Keys that no step reads from its settings file, by section: the workflow passes them to
#: the one rule that uses them as parameters. The previous version to compare with
#: (``review.previous_version``) determines no result, so it changes neither a step's
#: settings nor the config hash: two weekly versions built with the same configuration show
#: the same hash although only the second names a previous version.
WORKFLOW_ONLY_KEYS = {"review": ("previous_version", "previous_snapshot")}


def settings_slice(config: Mapping, step: str, sections: Iterable[str]) -> str:
    """The JSON text of one step's settings file: the named sections of a validated config.

    The workflow writes it only when its text changed, so a rule that takes it as input
    re-runs exactly when a value the step uses changed. :data:`WORKFLOW_ONLY_KEYS` are left
    out (reading them from these settings gives their schema default).
    """
    sections = list(sections)
    unknown = sorted(set(sections) - set(SECTIONS))
    if unknown:
        raise ConfigError(f"settings for step {step!r}: unknown section(s) {unknown}")
    body: dict[str, Any] = {SLICE_KEY: step}
    for name in sections:
        skip = WORKFLOW_ONLY_KEYS.get(name, ())
        body[name] = ({k: v for k, v in config[name].items() if k not in skip} if skip
                      else config[name])
    return json.dumps(body, indent=2, ensure_ascii=False) + "\n"


def _validate_slice(data: dict, source: str) -> dict:
    """Validate a step's settings file: only the sections it carries are required."""
    schema = load_schema()
    schema["required"] = [name for name in schema["required"] if name in data]
    return validate_config(data, schema, source=source)


def settings_from_mapping(data: Mapping, *, source: str = "settings") -> Settings:
    """Validate some sections of a configuration (a copy; defaults filled) and freeze them.

    Only the sections present are required, as for a step's settings file.
    """
    data = copy.deepcopy(dict(data))
    data.pop(SLICE_KEY, None)
    return Settings.from_config(_validate_slice(data, source), source=source)


def load_settings(path: str | Path) -> Settings:
    """The frozen settings from a ``config.yaml`` or a step's settings file.

    Raises
    ------
    ConfigError
        When the file is missing, not YAML/JSON, or fails the schema (naming each key).
    """
    path = Path(path)
    data = _read_mapping(path)
    if SLICE_KEY in data:
        return settings_from_mapping(
            data, source=f"{path.name} (settings of step {data[SLICE_KEY]!r})")
    return settings_from_config(data, source=path.name)
