"""config.yaml validation: defaults are filled, bad values are rejected naming the key."""

import copy
from pathlib import Path

import pytest
import yaml

from ketamine_evidence.config import ConfigError, load_config, validate_config

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = yaml.safe_load((ROOT / "workflow/schemas/config.schema.yaml").read_text())


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
        load_config(bad, ROOT / "workflow/schemas/config.schema.yaml")


def test_fallback_on_another_scale_needs_scale_free_range(config):
    bad = copy.deepcopy(config)
    claim = next(c for c in bad["claims"] if c["id"] == "C6")
    claim["fallback_analyses"] = [{"analysis": "ptsd_md_end_caps5", "metric": "md"}]
    with pytest.raises(ConfigError, match="scale-free claimed range"):
        validate_config(bad, SCHEMA)
    claim["fallback_analyses"] = [{"analysis": "nope", "metric": "smd"}]
    with pytest.raises(ConfigError, match=r"fallback_analyses\.0\.analysis"):
        validate_config(bad, SCHEMA)
