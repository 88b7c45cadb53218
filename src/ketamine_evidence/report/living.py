"""The living-review parts of the report (pure: no file or network access).

* :func:`header_view`: the provenance shown in the report's header: the date the evidence is
  current to, the snapshot, the git commit and the config hash. Every value comes from the
  build stamp of the report's inputs (:func:`ketamine_evidence.provenance.build_stamp`, the same
  function that writes ``results/build_stamp.json``) and from the snapshot's manifest; nothing
  is computed twice.
* :func:`changes_view`: the section "What changed since the previous version", from the
  comparison :func:`ketamine_evidence.living.changes.compare` wrote to ``results/changes.json``
  (``ketamine-evidence diff --json``). The template escapes every text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ketamine_evidence.living.changes import (
    CLAIM_FIELD_LABELS,
    ctgov_url,
    format_value,
    pubmed_url,
)
from ketamine_evidence.provenance import evidence_date, snapshot_date

__all__ = ["SHORT_HASH", "changes_view", "header_view"]

#: Characters of a SHA-1 commit or SHA-256 hash shown in the page (the full value is in the
#: element's ``title``, shown on hover, and in ``results/build_stamp.json``).
SHORT_HASH = 12

#: How the comparison's version descriptions (``changes.json``: ``previous``/``current``) are
#: labelled, in this order; other keys follow under their own name.
VERSION_KEYS = {
    "evidence_date": "evidence current to",
    "database_search": "database search",
    "snapshot": "snapshot",
    "git_commit": "git commit",
    "config_sha256": "config SHA-256",
}
_HASH_KEYS = ("git_commit", "config_sha256")


def _hash(full: Any) -> dict[str, str] | None:
    """A hash as ``{"short", "full"}`` for a ``<code title=...>`` element; ``None`` if absent."""
    if not full:
        return None
    full = str(full)
    return {"short": full[:SHORT_HASH], "full": full}


def header_view(stamp: Mapping[str, Any] | None, manifest: Mapping[str, Any] | None,
                snapshot_dir: str | None) -> dict[str, Any]:
    """The provenance lines of the report's header.

    Parameters
    ----------
    stamp
        The build stamp of the report's inputs (:func:`provenance.build_stamp`): ``git_commit``,
        ``git_dirty``, ``config``, ``config_sha256``, ``snapshot_date``, ``built_utc``.
    manifest
        The snapshot's ``manifest.json``: ``database_search`` (``status``, ``as_of``),
        ``current`` (the dated folder of the last retrieval, or none before the first
        database search) and ``written_utc``.
    snapshot_dir
        The snapshot folder (``review.snapshot_dir``).

    Returns
    -------
    dict
        ``evidence_date`` (ISO date or ``None``), ``searched`` (whether a database search
        ran), ``snapshot`` (folder) and ``snapshot_note`` (its date, or why it has none),
        ``commit`` and ``config`` (``{"short", "full"}`` or ``None``), ``dirty``,
        ``config_file``, ``built`` (build time or ``""``; only with ``SOURCE_DATE_EPOCH``).
    """
    stamp = stamp or {}
    manifest = manifest or {}
    search = manifest.get("database_search")
    search = search if isinstance(search, Mapping) else {}
    searched = search.get("status") == "complete"
    evidence = evidence_date(manifest) or stamp.get("snapshot_date")
    folder = str(snapshot_dir or "snapshot").rstrip("/")
    current = manifest.get("current")
    if isinstance(current, Mapping):
        current = current.get("folder")
    if current:
        snapshot = f"{folder}/{current}"
        retrieved = stamp.get("snapshot_date") or snapshot_date(manifest)
        snapshot_note = f"retrieved {retrieved}" if retrieved else ""
    elif manifest:
        snapshot = folder
        written = str(manifest.get("written_utc") or "")[:10]
        snapshot_note = ("no database retrieval yet: reviewers' list only"
                         + (f"; manifest of {written}" if written else ""))
    else:
        snapshot, snapshot_note = folder, "no manifest"
    built = str(stamp.get("built_utc") or "")
    return {
        "evidence_date": evidence,
        "searched": searched,
        "snapshot": snapshot,
        "snapshot_note": snapshot_note,
        "commit": _hash(stamp.get("git_commit")),
        "dirty": bool(stamp.get("git_dirty")),
        "config": _hash(stamp.get("config_sha256")),
        "config_file": str(stamp.get("config") or ""),
        "built": f"{built[:10]} {built[11:16]} UTC" if built else "",
    }


def _shown(key: str, value: Any) -> str:
    """A version description's value as text (a search status as words: ``not run``)."""
    text = format_value(value)
    return text.replace("_", " ") if key == "database_search" else text


def _version_rows(previous: Mapping[str, Any], current: Mapping[str, Any]) -> list[dict]:
    keys = [k for k in VERSION_KEYS if k in previous or k in current]
    keys += sorted(k for k in {*previous, *current} - set(VERSION_KEYS) - {"label"})
    rows = []
    for key in keys:
        old, new = previous.get(key), current.get(key)
        if key in _HASH_KEYS:
            rows.append({"label": VERSION_KEYS[key], "hash": True,
                         "old": _hash(old), "new": _hash(new)})
        else:
            rows.append({"label": VERSION_KEYS.get(key, key.replace("_", " ")), "hash": False,
                         "old": _shown(key, old), "new": _shown(key, new)})
        rows[-1]["differs"] = old != new
    return rows


def _ids(items, url) -> list[dict]:
    return [{"id": str(i["id"]), "url": url(str(i["id"])), "title": i.get("title") or ""}
            for i in items]


def changes_view(changes: Mapping[str, Any] | None) -> dict[str, Any]:
    """The section "What changed since the previous version" from a ``changes.json``.

    ``state`` is ``"missing"`` (the report was given no comparison), ``"no_previous"`` (no
    previous version was configured), ``"same"`` or ``"changed"``. The lists hold plain
    values with their links (PubMed, ClinicalTrials.gov); numbers are formatted as in the
    Markdown of ``ketamine-evidence diff`` (:func:`changes.format_value`).
    """
    if changes is None:
        return {"state": "missing"}
    if changes.get("previous") is None:
        return {"state": "no_previous", "current": dict(changes.get("current") or {})}
    previous, current = changes["previous"], changes.get("current") or {}
    view: dict[str, Any] = {
        "state": "changed" if changes.get("changed") else "same",
        "versions": _version_rows(previous, current),
    }
    if not changes.get("changed"):
        return view
    rec, prisma, claims = changes["records"], changes["prisma"], changes["claims"]
    view["record_lists"] = [
        (heading, _ids(items, url)) for heading, items, url in (
            ("New PubMed records", rec["pmids_added"], pubmed_url),
            ("PubMed records no longer retrieved", rec["pmids_removed"], pubmed_url),
            ("New registrations (ClinicalTrials.gov)", rec["nct_ids_added"], ctgov_url),
            ("Registrations no longer retrieved", rec["nct_ids_removed"], ctgov_url))
        if items]
    view["status_changes"] = [
        {"id": c["nct_id"], "url": ctgov_url(c["nct_id"]), "old": format_value(c["old"]),
         "new": format_value(c["new"])} for c in rec["status_changes"]]
    view["results_posted"] = [
        {"id": c["nct_id"], "url": ctgov_url(c["nct_id"]), "title": c.get("title") or "",
         "new_registration": bool(c.get("new_registration"))} for c in rec["results_posted"]]
    view["prisma_counts"] = [
        {"count": c["count"], "old": format_value(c["old"]), "new": format_value(c["new"])}
        for c in prisma["counts"]]
    view["studies_added"] = list(prisma["included_studies_added"])
    view["studies_removed"] = list(prisma["included_studies_removed"])
    view["claim_changes"] = [
        {"claim_id": claim["claim_id"], "field": CLAIM_FIELD_LABELS.get(c["field"], c["field"]),
         "old": format_value(c["old"]), "new": format_value(c["new"])}
        for claim in claims["changed"] for c in claim["changes"]]
    view["claims_added"] = list(claims["added"])
    view["claims_removed"] = list(claims["removed"])
    view["not_compared"] = [name for name, part in (("PRISMA counts", prisma),
                                                     ("claims", claims))
                            if not part["compared"]]
    return view
