"""Subcommand ``diff``: what changed between two versions of the review.

Reads each version's snapshot (database records, verified hashes), ``prisma.json`` and
``claims.csv`` and hands them to the pure :mod:`ketamine_evidence.living.changes`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

#: Exit status of ``diff``: nothing changed / something changed (as ``diff(1)`` and
#: ``git diff --exit-code``); errors exit with the CLI's usual 2.
EXIT_SAME = 0
EXIT_CHANGED = 1

#: Where a review folder keeps what ``diff`` reads (the workflow's own output paths).
CLAIMS = "results/claims.csv"
PRISMA = "data/processed/prisma.json"
SNAPSHOT = "data/raw/snapshot"
#: The build stamp a version's folder may hold (``ketamine-evidence stamp``): git commit and
#: config hash of that version.
STAMP = "results/build_stamp.json"
#: The keys of a build stamp (:func:`ketamine_evidence.provenance.build_stamp`) copied into
#: a version's description.
STAMP_KEYS = ("git_commit", "config_sha256")


def version_inputs(folder: str | Path, snapshot_dir: str | Path | None = None) -> list[str]:
    """The files :func:`load_version` needs from a review folder (the workflow's input list
    when it compares with a previous version): claims, PRISMA counts and the snapshot's
    manifest, plus the build stamp when the folder has one."""
    folder = Path(folder)
    snapshot_dir = Path(snapshot_dir) if snapshot_dir else folder / SNAPSHOT
    files = [folder / CLAIMS, folder / PRISMA, snapshot_dir / "manifest.json"]
    if (folder / STAMP).is_file():
        files.append(folder / STAMP)
    return [str(f) for f in files]


def _snapshot_info(snapshot_dir: Path) -> dict:
    from ..provenance import evidence_date
    from ..sources.snapshot import read_manifest

    manifest = read_manifest(snapshot_dir)
    search = manifest.get("database_search") or {}
    return {"evidence_date": evidence_date(manifest),
            "snapshot": manifest.get("current") or "no database search (reviewers' list only)",
            "database_search": search.get("status")}


def load_version(folder: Path, snapshot_dir: Path | None = None, config: Path | None = None):
    """Read one version of the review from a review folder (see :data:`CLAIMS`, :data:`PRISMA`).

    A missing ``claims.csv`` or ``prisma.json`` is an error naming the file: a version without
    results cannot be compared. The version's git commit and config hash (:data:`STAMP_KEYS`)
    come from its build stamp (:data:`STAMP`) when it has one; with ``config`` they are
    computed now instead (:func:`ketamine_evidence.provenance.build_stamp` of that config file
    and this work tree): the workflow compares before it writes the stamp, so the stamp on disk
    would belong to the previous build.
    """
    from ketamine_evidence.living.changes import Version
    from ketamine_evidence.screening.io import snapshot_records

    from .. import provenance
    from ..tables import read_table

    folder = Path(folder)
    snapshot_dir = Path(snapshot_dir) if snapshot_dir else folder / SNAPSHOT
    records = [{k: r.get(k) for k in ("pmid", "nct_id", "title", "overall_status",
                                      "has_results")}
               for r in snapshot_records(snapshot_dir)]
    prisma_path = folder / PRISMA
    try:
        prisma = json.loads(prisma_path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ValueError(f"{prisma_path}: not valid JSON ({exc})") from exc
    claims = read_table(folder / CLAIMS).to_dict("records")
    info = _snapshot_info(snapshot_dir)
    stamp = folder / STAMP
    built = None
    if config is not None:
        built = provenance.build_stamp(config=config, manifest=None, root=folder)
    elif stamp.is_file():  # written by the workflow when it records what it was built from
        try:
            built = json.loads(stamp.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise ValueError(f"{stamp}: not valid JSON ({exc})") from exc
    if built is not None:
        info.update({k: built[k] for k in STAMP_KEYS if built.get(k) is not None})
    label = f"{info['snapshot']} (evidence as of {info['evidence_date']})"
    return Version(label=label, records=records, prisma=prisma, claims=claims, info=info)


def _cmd_diff(args) -> int:
    from ketamine_evidence.living.changes import compare, to_markdown
    from ketamine_evidence.tables import write_text

    new = load_version(args.new or Path("."), args.new_snapshot, args.new_config)
    old = None if args.old is None else load_version(args.old, args.old_snapshot)
    changes = compare(old, new)
    text = to_markdown(changes) + "\n"
    if args.json:
        write_text(json.dumps(changes, indent=2, ensure_ascii=False) + "\n", args.json)
    if args.output in (None, "-"):
        sys.stdout.write(text)
    else:
        write_text(text, args.output)
    return EXIT_CHANGED if changes["changed"] else EXIT_SAME


def register(subparsers) -> None:
    """Add ``diff`` to the ``ketamine-evidence`` parser."""
    p = subparsers.add_parser(
        "diff",
        help="what changed between two versions of the review (records, registry, PRISMA, "
             "claims); exit 1 when anything changed",
        description="Compare two versions of the review: each is a review folder holding "
                    f"{CLAIMS}, {PRISMA} and the snapshot ({SNAPSHOT}, or the path given). "
                    "Lists PMIDs and NCT IDs added or removed, registry status changes, "
                    "results newly posted on ClinicalTrials.gov, PRISMA counts that changed "
                    "and, per claim, changes in verdict, certainty, k, participants, "
                    "estimate and intervals. Writes Markdown (for a pull-request body) and "
                    "optionally JSON. Exit status: 0 nothing changed (or no previous version "
                    "given), 1 something changed, 2 error.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--old", type=Path, metavar="DIR",
                   help="the previous version's review folder (omit when there is none: the "
                        "output then says so)")
    p.add_argument("--new", type=Path, metavar="DIR",
                   help="the current version's review folder (default: the current folder)")
    p.add_argument("--old-snapshot", type=Path, metavar="DIR",
                   help=f"the previous version's snapshot folder (default: DIR/{SNAPSHOT})")
    p.add_argument("--new-snapshot", type=Path, metavar="DIR",
                   help=f"the current version's snapshot folder (default: DIR/{SNAPSHOT})")
    p.add_argument("--new-config", type=Path, metavar="PATH",
                   help="the current version's config file: its git commit and config hash "
                        f"are computed now instead of read from DIR/{STAMP} (the workflow "
                        "compares before it writes its stamp)")
    p.add_argument("-o", "--output", metavar="PATH",
                   help="where to write the Markdown (default: standard output)")
    p.add_argument("--json", metavar="PATH", help="also write the comparison as JSON here")
    p.set_defaults(func=_cmd_diff)
