"""The committed raw snapshot: dated folders of response bodies plus ``manifest.json``.

Layout::

    data/raw/snapshot/
        manifest.json                  the commit point: which folder is current, hashes
        2026-11-27T161500Z/            one live refresh, bodies exactly as received
            pubmed/esearch_w01.xml, pubmed/efetch_w01_b0001.xml, ...
            ctgov/search_p001.json, ctgov/study_NCT01234567.json, ...

A refresh writes its folder under a temporary name, fsyncs every file and the folder, renames
it into place, then replaces ``manifest.json`` atomically (temp file, fsync, ``os.replace``).
If anything fails before that last step the old manifest still names the old folder, so the
previous snapshot stays complete. The manifest never holds an e-mail address or API key.

Records "identified from other methods" (PRISMA 2020) are the reviewers' list
``known_reports.csv`` in the curated folder; the manifest refers to it but does not pin its
hash, because the curators keep editing it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import platform
import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from .. import KetamineEvidenceError
from ..config import SearchSettings
from ..tables import fsync_folder, umask_mode, write_text
from ._http import SourceError

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
MANIFEST_VERSION = 1
SECRET_KEYS = {"email", "api_key", "apikey", "NCBI_EMAIL", "NCBI_API_KEY"}


class SnapshotError(KetamineEvidenceError, RuntimeError):
    """The snapshot is missing, unreadable or inconsistent."""


class SnapshotIntegrityError(SnapshotError):
    """A file's SHA-256 does not match the manifest (or the file is missing)."""


class RefreshError(KetamineEvidenceError, RuntimeError):
    """A live refresh failed; the previous snapshot was left as it was."""


@dataclass(frozen=True)
class SnapshotFile:
    path: str          # relative to the snapshot folder, e.g. 2026-...Z/pubmed/efetch_w01_b0001.xml
    source: str        # pubmed | ctgov
    kind: str          # esearch | efetch | search | study
    content: bytes


@dataclass(frozen=True)
class Snapshot:
    root: Path
    manifest: dict
    files: tuple[SnapshotFile, ...]

    def of(self, source: str, kind: str | None = None) -> list[SnapshotFile]:
        return [f for f in self.files
                if f.source == source and (kind is None or f.kind == kind)]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def software_versions() -> dict:
    versions = {"python": platform.python_version()}
    for dist in ("ketamine-evidence", "biopython", "requests", "urllib3", "defusedxml"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    return versions


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _check_no_secrets(obj, where="manifest") -> None:
    """Refuse to write a manifest that carries an e-mail or a key, however nested."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            if key in SECRET_KEYS:
                raise SnapshotError(f"refusing to write secret parameter {key!r} into {where}")
            _check_no_secrets(value, where)
    elif isinstance(obj, list):
        for value in obj:
            _check_no_secrets(value, where)
    for name in ("NCBI_EMAIL", "NCBI_API_KEY"):
        secret = os.environ.get(name)
        if secret and isinstance(obj, str) and secret in obj:
            raise SnapshotError(f"refusing to write the value of {name} into {where}")


def _write_file(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def write_manifest(root: Path, manifest: dict) -> None:
    """Replace ``root/manifest.json`` atomically and durably (:func:`tables.write_bytes`)."""
    _check_no_secrets(manifest)
    text = json.dumps(manifest, indent=2, sort_keys=False, ensure_ascii=False) + "\n"
    _check_no_secrets(text)
    write_text(text, Path(root) / MANIFEST, durable=True)


def empty_manifest(as_of: dt.date, known_reports: str = "known_reports.csv") -> dict:
    """Manifest of a snapshot in which no database search has been run yet."""
    return {
        "manifest_version": MANIFEST_VERSION,
        "project": "ketamine-evidence",
        "written_utc": _iso(_utc_now()),
        "database_search": {
            "status": "not_run",
            "as_of": as_of.isoformat(),
            "note": ("No database search has been run yet: this environment cannot reach "
                     "PubMed or ClinicalTrials.gov. Run `ketamine-evidence refresh` to add "
                     "the database records beside the reviewers' list."),
        },
        "current": None,
        "sources": {
            "pubmed": {"status": "not_run", "query": None, "retrieved_utc": None,
                       "counts": {"esearch_count": 0, "records": 0}},
            "ctgov": {"status": "not_run", "query": None, "retrieved_utc": None,
                      "counts": {"total_count": 0, "studies": 0}},
        },
        "other_methods": {
            "file": known_reports,
            "relative_to": "review.curated_dir",
            "description": ("Reviewers' list of reports and registrations identified from "
                            "other methods (PRISMA 2020); curated, read at build time, "
                            "hash not pinned."),
        },
        "files": [],
        "previous": [],
        "software": software_versions(),
    }


def read_manifest(root: Path | str) -> dict:
    path = Path(root) / MANIFEST
    if not path.is_file():
        raise SnapshotError(f"{path}: no such file (a snapshot starts with "
                            "`ketamine-evidence init-snapshot` or `ketamine-evidence refresh`)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise SnapshotError(f"{path} is not valid JSON: {exc}") from exc
    if manifest.get("manifest_version") != MANIFEST_VERSION:
        raise SnapshotError(f"{path}: unsupported manifest_version "
                            f"{manifest.get('manifest_version')!r}")
    return manifest


def load_snapshot(root: Path | str) -> Snapshot:
    """Read the current snapshot, verifying every file's SHA-256.

    Raises
    ------
    SnapshotIntegrityError
        Naming the first file that is missing or whose hash differs from the manifest.
    """
    root = Path(root)
    manifest = read_manifest(root)
    files = []
    entries = manifest.get("files", [])
    if not isinstance(entries, list):
        raise SnapshotError(f"{root / MANIFEST}: 'files' must be a list of file entries")
    for i, entry in enumerate(entries, start=1):
        _check_entry(entry, i, root)
        path = root / entry["path"]
        if not path.is_file():
            raise SnapshotIntegrityError(f"snapshot file missing: {path}")
        data = path.read_bytes()
        digest = sha256(data)
        if digest != entry["sha256"]:
            raise SnapshotIntegrityError(
                f"snapshot file {path} has SHA-256 {digest}, but the manifest records "
                f"{entry['sha256']}: the file was changed or damaged after retrieval"
            )
        files.append(SnapshotFile(entry["path"], entry["source"], entry["kind"], data))
    return Snapshot(root=root, manifest=manifest, files=tuple(files))


#: Keys every ``files`` entry of the manifest carries; ``sha256`` is what makes a file trusted.
ENTRY_KEYS = ("path", "source", "kind", "sha256")


def _check_entry(entry, number: int, root: Path) -> None:
    """Refuse a manifest file entry that cannot be verified (no path, no hash ...)."""
    where = f"{root / MANIFEST}: files entry {number}"
    if not isinstance(entry, dict):
        raise SnapshotIntegrityError(f"{where} is not an object")
    if isinstance(entry.get("path"), str):
        where += f" ({entry['path']})"
    missing = [k for k in ENTRY_KEYS if not isinstance(entry.get(k), str) or not entry[k]]
    if missing:
        raise SnapshotIntegrityError(
            f"{where} has no {', '.join(missing)}: the file cannot be verified; restore the "
            "manifest from version control or run a new refresh")
    rel = Path(entry["path"])
    if rel.is_absolute() or ".." in rel.parts:
        raise SnapshotIntegrityError(f"{where}: unsafe path {entry['path']!r}")


#: Names of the temporary folders and manifests a refresh writes before renaming them into
#: place (``tempfile.mkdtemp(prefix=".<folder>-")``; ``.manifest.json.<random>.tmp`` from
#: :func:`tables.write_bytes`, ``.manifest-<random>.tmp`` from versions before it).
_STALE_TEMPORARY = re.compile(
    r"^\.(\d{4}-\d{2}-\d{2}T\d{6}Z-.+|manifest-.+\.tmp|manifest\.json\..+\.tmp)$")


def remove_stale_temporaries(root: Path | str) -> list[str]:
    """Delete what a killed refresh left behind: hidden half-written folders and manifests.

    They are never part of the snapshot (the manifest only names renamed folders), so
    removing them loses nothing. Only names this module writes are touched. Returns the names
    removed (each is also logged). Not safe while another refresh writes into ``root``.
    """
    root = Path(root)
    if not root.is_dir():
        return []
    removed = []
    for path in sorted(root.iterdir()):
        if not _STALE_TEMPORARY.match(path.name):
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
        removed.append(path.name)
        log.warning("removed %s, left by an interrupted refresh", path)
    return removed


def commit_retrieval(root: Path | str, raw_files, sources_meta: dict,
                     now: dt.datetime | None = None) -> Path:
    """Write a new dated folder atomically and make it current in the manifest.

    Parameters
    ----------
    raw_files : iterable of RawFile
        Response bodies with their names (``pubmed/...``, ``ctgov/...``) and safe parameters.
    sources_meta : dict
        ``{"pubmed": {...}, "ctgov": {...}}`` query, counts and status for the manifest.
    """
    root = Path(root)
    now = now or _utc_now()
    root.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(root)
    try:
        old = read_manifest(root)
    except SnapshotError:
        old = empty_manifest(now.date())
    folder = now.strftime("%Y-%m-%dT%H%M%SZ")
    final = root / folder
    if final.exists():
        raise SnapshotError(f"snapshot folder {final} already exists")
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder}-", dir=root))
    os.chmod(tmp, umask_mode(0o777))  # mkdtemp makes 0700 whatever the umask
    entries = []
    try:
        for raw in raw_files:
            _check_no_secrets(raw.params, f"parameters of {raw.name}")
            rel = Path(raw.name)
            if rel.is_absolute() or ".." in rel.parts:
                raise SnapshotError(f"unsafe file name {raw.name!r}")
            _write_file(tmp / rel, raw.content)
            entries.append({"path": f"{folder}/{rel.as_posix()}", "source": raw.source,
                            "kind": raw.kind, "bytes": len(raw.content),
                            "sha256": sha256(raw.content), "params": raw.params})
        for sub in {p.parent for p in tmp.rglob("*") if p.is_file()} | {tmp}:
            fsync_folder(sub)
        os.rename(tmp, final)
        fsync_folder(root)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    manifest = dict(old)
    manifest.update(
        written_utc=_iso(_utc_now()),
        current=folder,
        database_search={"status": "complete", "as_of": now.date().isoformat(),
                         "retrieved_utc": _iso(now), "note": "Live refresh of PubMed and "
                         "ClinicalTrials.gov; bodies stored exactly as received."},
        sources=sources_meta,
        files=entries,
        software=software_versions(),
    )
    if old.get("current"):
        manifest["previous"] = [{"folder": old["current"],
                                 "retrieved_utc": old.get("database_search", {})
                                 .get("retrieved_utc")}] + list(old.get("previous", []))
    try:
        write_manifest(root, manifest)
    except BaseException:
        shutil.rmtree(final, ignore_errors=True)
        raise
    return final


def refresh(root: Path | str, search: SearchSettings | Mapping, pubmed_client, ctgov_client,
            now: dt.datetime | None = None) -> Path:
    """Run both searches live and commit them as a new snapshot folder.

    Nothing is written until every request has succeeded. ``search`` is the ``search``
    section of the settings (a mapping is validated against the schema, filling defaults).

    Raises
    ------
    RefreshError
        Saying which service failed and that the previous snapshot is unchanged.
    """
    root = Path(root)
    search = SearchSettings.coerce(search)
    now = now or _utc_now()
    remove_stale_temporaries(root)
    previous = "none"
    if (root / MANIFEST).is_file():
        try:
            m = read_manifest(root)
            as_of = m["database_search"]["as_of"]
            previous = (f"folder {m['current']!r}, as of {as_of}" if m.get("current")
                        else f"no database search yet, reviewers' list only, as of {as_of}")
        except (SnapshotError, KeyError):
            previous = "an unreadable manifest"
    files = []
    meta = {}
    step = "PubMed"
    try:
        date_from = search.date_from
        date_to = search.date_to or now.strftime("%Y/%m/%d")
        term = " ".join(search.pubmed.term.split())
        pm = pubmed_client.retrieve(term, date_from, date_to)
        files += pm.files
        meta["pubmed"] = {
            "status": "complete", "retrieved_utc": _iso(now),
            "query": {"db": "pubmed", "term": term, "datetype": "pdat",
                      "mindate": date_from, "maxdate": date_to,
                      "batch_size": pubmed_client.batch_size, "windows": pm.windows},
            "counts": {"esearch_count": pm.count, "records": len(pm.pmids)},
        }
        step = "ClinicalTrials.gov"
        cg = ctgov_client.retrieve(list(search.ctgov.conditions),
                                   list(search.ctgov.interventions))
        files += cg.files
        meta["ctgov"] = {
            "status": "complete", "retrieved_utc": _iso(_utc_now()),
            "query": {"endpoint": "/studies", **cg.params},
            "counts": {"total_count": cg.total_count, "studies": len(cg.nct_ids)},
        }
        step = "writing the snapshot"
        return commit_retrieval(root, files, meta, now=now)
    except (SourceError, SnapshotError, OSError) as exc:
        raise RefreshError(
            f"refresh failed during {step}: {exc}. The previous snapshot ({previous}) "
            "was left unchanged."
        ) from exc


def init_snapshot(root: Path | str, as_of: dt.date | None = None) -> Path:
    """Create the manifest of a snapshot with no database search yet (never overwrites)."""
    root = Path(root)
    if (root / MANIFEST).exists():
        raise SnapshotError(f"{root / MANIFEST} already exists")
    write_manifest(root, empty_manifest(as_of or _utc_now().date()))
    return root / MANIFEST
