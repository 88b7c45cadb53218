"""config.yaml validation: defaults are filled, bad values are rejected naming the key; the
frozen settings object; per-step settings files."""

import copy
import dataclasses
import json
import re
from pathlib import Path

import pytest

from ketamine_evidence.config import (
    AnalysisSpec,
    ConfigError,
    Settings,
    load_config,
    load_schema,
    load_settings,
    schema_path,
    settings_slice,
    validate_config,
)

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = load_schema()


@pytest.fixture(scope="module")
def config():
    return load_config(ROOT / "config.yaml")


def test_project_config_is_valid_and_defaults_filled(config):
    assert config["analysis"]["method"] == "REML"
    assert config["analysis"]["test"] == "knha"
    assert all(a["question"] == "treatment" for a in config["analysis"]["analyses"])
    assert all("quote" in c for c in config["claims"])


def test_bad_enum_names_the_key(config):
    bad = copy.deepcopy(config)
    bad["analysis"]["method"] = "XYZ"
    with pytest.raises(ConfigError, match=r"analysis\.method"):
        validate_config(bad, SCHEMA)


def test_claim_must_point_at_an_analysis(config):
    bad = copy.deepcopy(config)
    bad["claims"][0]["analysis"] = "nonexistent"
    with pytest.raises(ConfigError, match=r"claims\.0\.analysis.*nonexistent"):
        validate_config(bad, SCHEMA)


def test_closest_pick_needs_target(config):
    bad = copy.deepcopy(config)
    spec = bad["analysis"]["analyses"][0]
    spec["pick"] = "closest"
    spec.pop("target_days", None)
    with pytest.raises(ConfigError, match="target_days"):
        validate_config(bad, SCHEMA)


def test_unknown_key_rejected(config):
    bad = copy.deepcopy(config)
    bad["analysis"]["estimator"] = "REML"
    with pytest.raises(ConfigError, match="estimator"):
        validate_config(bad, SCHEMA)


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="nope.yaml: no such file"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("analysis: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad, schema_path())


def test_fallback_on_another_scale_needs_scale_free_range(config):
    bad = copy.deepcopy(config)
    claim = next(c for c in bad["claims"] if c["id"] == "C6")
    claim["fallback_analyses"] = [{"analysis": "ptsd_md_end_caps5", "metric": "md"}]
    with pytest.raises(ConfigError, match="scale-free claimed range"):
        validate_config(bad, SCHEMA)
    claim["fallback_analyses"] = [{"analysis": "nope", "metric": "smd"}]
    with pytest.raises(ConfigError, match=r"fallback_analyses\.0\.analysis"):
        validate_config(bad, SCHEMA)


def _objects(schema, path="(top)"):
    """Every object subschema with its path."""
    if isinstance(schema, dict):
        if schema.get("type") == "object" or "properties" in schema:
            yield path, schema
        for key, value in schema.items():
            yield from _objects(value, f"{path}.{key}")
    elif isinstance(schema, list):
        for i, value in enumerate(schema):
            yield from _objects(value, f"{path}[{i}]")


def test_every_object_in_the_schema_rejects_unknown_keys():
    for path, sub in _objects(SCHEMA):
        assert "additionalProperties" in sub, f"{path} accepts any key"
        if "properties" in sub:
            assert sub["additionalProperties"] is False, path


@pytest.mark.parametrize("section, key", [
    ("eligibility", "design_termz"), ("search", "date_form"), ("review", "titel"),
    ("search.pubmed", "batchsize"), ("analysis.smd_benchmarks", "huge"),
])
def test_a_typo_anywhere_fails_naming_the_key(config, section, key):
    bad = copy.deepcopy(config)
    target = bad
    for name in section.split("."):
        target = target[name]
    target[key] = ["x"]
    with pytest.raises(ConfigError, match=re.escape(f"'{key}' was unexpected")):
        validate_config(bad, SCHEMA)


def test_settings_are_frozen_typed_and_round_trip(config):
    settings = Settings.from_config(config)
    assert settings.analysis.method == "REML"
    assert isinstance(settings.analysis.analyses[0], AnalysisSpec)
    assert isinstance(settings.eligibility.design_terms, tuple)
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.analysis.method = "DL"
    with pytest.raises(TypeError):
        settings.analysis.smd_benchmarks["small"] = 1.0
    assert settings.to_dict() == json.loads(json.dumps(config))


def test_schema_properties_and_settings_fields_agree(config):
    """Every key the schema allows has a field, so a new key cannot be silently dropped."""
    settings = Settings.from_config(config)
    for name in ("review", "search", "eligibility", "analysis", "certainty"):
        section = getattr(settings, name)
        fields = {f.name for f in dataclasses.fields(section)}
        assert fields == set(SCHEMA["properties"][name]["properties"]), name
    item = SCHEMA["properties"]["claims"]["items"]["properties"]
    assert {f.name for f in dataclasses.fields(settings.claims[0])} == set(item)
    item = SCHEMA["properties"]["analysis"]["properties"]["analyses"]["items"]["properties"]
    assert {f.name for f in dataclasses.fields(settings.analysis.analyses[0])} == set(item)


def test_step_settings_file_carries_only_its_sections(config, tmp_path):
    path = tmp_path / "analyze.json"
    path.write_text(settings_slice(config, "analyze", ["analysis"]))
    settings = load_settings(path)
    assert settings.analysis.method == "REML"
    with pytest.raises(ConfigError, match="do not carry 'claims'"):
        settings.claims  # noqa: B018
    text = settings_slice(config, "claims", ["analysis", "claims"])
    bad = json.loads(text)
    bad["claims"][0]["analysis"] = "nope"
    path.write_text(json.dumps(bad))
    with pytest.raises(ConfigError, match=r"claims\.0\.analysis: 'nope'"):
        load_settings(path)


def test_previous_version_is_validated_and_kept_out_of_the_step_settings(config, tmp_path):
    """review.previous_version names what to compare with: it is read by the workflow (a
    rule parameter), so it changes no step's settings file and not the config hash."""
    assert config["review"]["previous_version"] is None  # the schema's default
    named = copy.deepcopy(config)
    named["review"]["previous_version"] = "living-review/previous"
    named["review"]["previous_snapshot"] = "elsewhere/snapshot"
    assert Settings.from_config(validate_config(copy.deepcopy(named))).review \
        .previous_version == "living-review/previous"
    sections = ["review", "analysis"]
    assert settings_slice(named, "all", sections) == settings_slice(config, "all", sections)
    path = tmp_path / "all.json"
    path.write_text(settings_slice(named, "all", sections))
    review = load_settings(path).review
    assert (review.previous_version, review.previous_snapshot) == (None, None)
    assert review.title == config["review"]["title"]
    named["review"]["previous_version"] = ""
    with pytest.raises(ConfigError, match="review.previous_version"):
        validate_config(named)


def test_coerce_fills_schema_defaults_and_rejects_unknown_keys():
    spec = AnalysisSpec.coerce({"id": "a", "title": "A", "outcome": "o", "measure": "SMD"})
    assert (spec.pick, spec.question, spec.window_days) == ("latest", "treatment",
                                                            (None, None))
    with pytest.raises(ConfigError, match="'picks' was unexpected"):
        AnalysisSpec.coerce({"id": "a", "title": "A", "outcome": "o", "measure": "SMD",
                             "picks": "latest"})


def test_no_code_restates_a_schema_default():
    """Defaults live in the schema: no `.get("<schema key>", <default>)` in the package."""
    keys = set()
    for _, sub in _objects(SCHEMA):
        keys |= {k for k, v in sub.get("properties", {}).items() if "default" in v}
    pattern = re.compile(r"\.get\(\s*[\"'](" + "|".join(sorted(keys)) + r")[\"']\s*,")
    hits = [f"{p.relative_to(ROOT)}:{i}: {line.strip()}"
            for p in sorted((ROOT / "src").rglob("*.py"))
            for i, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line)]
    assert not hits, "\n".join(hits)
