"""Build stamps: what an output was built from (the file adapter; no science here).

A stamp records the git commit of the code (and whether the work tree had uncommitted
changes), the package version, the SHA-256 of the config file, the date of the raw snapshot
and the SHA-256 of every input file. ``ketamine-evidence stamp`` writes one for the whole
review (``results/build_stamp.json``, the last step of the workflow, with the hashes of the
outputs too); the report shows the stamp of its own inputs in its header, so a page left over
from an earlier run says which build it belongs to.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ketamine_evidence import __version__

__all__ = ["build_stamp", "evidence_date", "file_sha256", "git_state", "snapshot_date",
           "stamp_line"]


def file_sha256(path: str | Path) -> str | None:
    """SHA-256 (hex) of a file's bytes; of a folder, over its files' relative paths and
    bytes in sorted order; ``None`` when the path does not exist."""
    path = Path(path)
    digest = hashlib.sha256()
    if path.is_file():
        digest.update(path.read_bytes())
    elif path.is_dir():
        for item in sorted(p for p in path.rglob("*") if p.is_file()):
            digest.update(str(item.relative_to(path)).encode())
            digest.update(b"\0")
            digest.update(item.read_bytes())
    else:
        return None
    return digest.hexdigest()


def git_state(root: str | Path = ".") -> tuple[str | None, bool | None]:
    """``(commit, dirty)`` of the git work tree holding ``root``; ``(None, None)`` outside
    a repository or without git. ``dirty`` means tracked files differ from the commit."""
    def git(*args: str) -> str | None:
        try:
            proc = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True,
                                  timeout=30, check=False)
        except (OSError, subprocess.SubprocessError):
            return None
        return proc.stdout.strip() if proc.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return None, None
    status = git("status", "--porcelain", "--untracked-files=no")
    return commit, (None if status is None else bool(status))


def snapshot_date(manifest: Mapping[str, Any] | None) -> str | None:
    """Date (``YYYY-MM-DD``) of the snapshot a manifest describes: its current dated folder's
    retrieval time when there is one, else the date the manifest was written."""
    if not manifest:
        return None
    current = manifest.get("current")
    if isinstance(current, Mapping):
        for key in ("retrieved_utc", "retrieved", "folder"):
            if current.get(key):
                return str(current[key])[:10]
    elif isinstance(current, str) and current:
        return current[:10]
    written = manifest.get("written_utc")
    return str(written)[:10] if written else None


def evidence_date(manifest: Mapping[str, Any] | None) -> str | None:
    """Date (``YYYY-MM-DD``) the evidence of a snapshot is current to: the date of its
    database search (``database_search.as_of``; before the first search, the date the
    reviewers' list was set up), else :func:`snapshot_date`. The report's header shows it and
    the GRADE step judges registered completion dates against it (not against the clock, so a
    rebuild on a later day gives the same result)."""
    if not manifest:
        return None
    search = manifest.get("database_search")
    if isinstance(search, Mapping) and search.get("as_of"):
        return str(search["as_of"])[:10]
    return snapshot_date(manifest)


def build_stamp(
    *,
    config: str | Path | None,
    manifest: str | Path | None,
    inputs: Mapping[str, str | Path] | Iterable[str | Path] = (),
    outputs: Mapping[str, str | Path] | Iterable[str | Path] = (),
    root: str | Path = ".",
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """What a build used, as a JSON-ready dict.

    Parameters
    ----------
    config, manifest
        The review's config file and the snapshot's ``manifest.json`` (either may be None).
    inputs, outputs
        Files (or folders) by name, or paths (their own names); each gets its SHA-256
        (``None`` when missing, so a missing input is visible in the stamp).
    root
        A folder inside the git work tree of the code.
    now
        Build time (UTC). Default: ``SOURCE_DATE_EPOCH`` when that variable is set (the
        reproducible-builds convention), otherwise no build time. The stamp says what a build
        was made from, so two builds from the same inputs write the same bytes (reruns and
        the SLURM check compare outputs byte for byte; a wall-clock time would break both).
    """
    def hashed(files) -> dict[str, str | None]:
        items = files.items() if isinstance(files, Mapping) else ((str(f), f) for f in files)
        return {str(name): file_sha256(path) for name, path in items}

    manifest_data = None
    if manifest is not None and Path(manifest).is_file():
        manifest_data = json.loads(Path(manifest).read_text(encoding="utf-8"))
    commit, dirty = git_state(root)
    if now is None and os.environ.get("SOURCE_DATE_EPOCH", "").strip().isdigit():
        now = dt.datetime.fromtimestamp(int(os.environ["SOURCE_DATE_EPOCH"]), dt.UTC)
    return {
        "status": "complete",
        "built_utc": None if now is None else now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "git_commit": commit,
        "git_dirty": dirty,
        "package_version": __version__,
        "config": None if config is None else str(config),
        "config_sha256": None if config is None else file_sha256(config),
        "snapshot_date": snapshot_date(manifest_data),
        "manifest_sha256": None if manifest is None else file_sha256(manifest),
        "inputs": hashed(inputs),
        "outputs": hashed(outputs),
    }


def stamp_line(stamp: Mapping[str, Any]) -> str:
    """The stamp in one line for a page header, e.g. ``built 2026-11-30 21:30 UTC from
    commit 1a2b3c4d (with uncommitted changes), config 9f8e7d6c, snapshot of 2026-11-27``."""
    built = str(stamp.get("built_utc") or "")
    parts = [f"built {built[:10]} {built[11:16]} UTC"] if built else []
    if stamp.get("status") == "stale":
        parts.insert(0, "STALE (a later run failed)")
    commit = stamp.get("git_commit")
    if commit:
        dirty = " (with uncommitted changes)" if stamp.get("git_dirty") else ""
        parts.append(f"from commit {commit[:12]}{dirty}")
    else:
        parts.append("outside a git work tree")
    if stamp.get("config_sha256"):
        parts.append(f"config sha256 {stamp['config_sha256'][:12]}")
    parts.append(f"snapshot of {stamp['snapshot_date']}" if stamp.get("snapshot_date")
                 else "no snapshot")
    missing = sorted(k for k, v in (stamp.get("inputs") or {}).items() if v is None)
    if missing:
        parts.append("missing inputs: " + ", ".join(missing))
    return ", ".join(parts)
