"""Subcommands ``refresh``, ``init-snapshot``, ``records``, ``screen`` and ``prisma``.

``refresh`` is the only one that touches the network; the others read and write files given as
options so the Snakemake rules can call them on the committed snapshot.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from ..config import load_settings
from ..schemas.records import (
    RECORDS_SCHEMA,
    SCREENING_SCHEMA,
    STUDIES_SCHEMA,
    read_table,
    write_table,
)
from ..tables import write_text
from .files import file_option, review_folders


def _cmd_refresh(args) -> int:
    import os

    from ..sources.ctgov import CTGovClient
    from ..sources.pubmed import PubMedClient
    from ..sources.settings import ENV, resolve_settings
    from ..sources.snapshot import refresh

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = resolve_settings({name: getattr(args, name) for name in ENV}, os.environ)
    config = load_settings(args.config)
    snapshot_dir = args.snapshot_dir or config.review.snapshot_dir
    common = dict(policy=settings.policy(), timeout=settings.timeout)
    pubmed = PubMedClient(batch_size=config.search.pubmed.batch_size,
                          base_url=settings.eutils_url, throttle=settings.throttle(), **common)
    ctgov = CTGovClient(page_size=config.search.ctgov.page_size,
                        base_url=settings.ctgov_url, throttle=settings.throttle(), **common)
    logging.getLogger(__name__).info(
        "refresh: E-utilities %s, ClinicalTrials.gov %s, timeout %g s, %d retries",
        settings.eutils_url, settings.ctgov_url, settings.timeout, settings.retries)
    folder = refresh(snapshot_dir, config.search, pubmed, ctgov)
    print(f"snapshot refreshed: {folder}")
    return 0


def _cmd_init(args) -> int:
    from ..sources.snapshot import init_snapshot

    path = init_snapshot(args.snapshot_dir)
    print(f"wrote {path}")
    return 0


def _cmd_records(args) -> int:
    from ketamine_evidence.screening.io import build_records

    records, studies = build_records(*review_folders(args, "snapshot_dir", "curated_dir"))
    write_table(records, args.records, RECORDS_SCHEMA)
    write_table(studies, args.studies, STUDIES_SCHEMA)
    return 0


def _cmd_screen(args) -> int:
    from ketamine_evidence.screening.eligibility import screen
    from ketamine_evidence.screening.io import read_overrides

    eligibility = load_settings(args.config).eligibility
    records = read_table(args.records, RECORDS_SCHEMA)
    studies = read_table(args.studies, STUDIES_SCHEMA)
    overrides = read_overrides(args.overrides)
    write_table(screen(records, studies, eligibility, overrides), args.output,
                SCREENING_SCHEMA)
    return 0


def _cmd_prisma(args) -> int:
    from ketamine_evidence.screening.prisma import prisma_counts

    from ..sources.snapshot import read_manifest

    records = read_table(args.records, RECORDS_SCHEMA)
    screening = read_table(args.screening, SCREENING_SCHEMA)
    manifest = read_manifest(args.snapshot_dir) if args.snapshot_dir else None
    counts = prisma_counts(records, screening, manifest)
    write_text(json.dumps(counts, indent=2) + "\n", args.output)
    return 0


def _cmd_awaiting(args) -> int:
    """Print the included records that still need a reviewer; exit 3 with --fail-if-any."""

    from ketamine_evidence.screening.eligibility import awaiting_curation

    from ..tables import read_csv_text

    screening = read_table(args.screening, SCREENING_SCHEMA)
    path = Path(args.characteristics)
    curated = (read_csv_text(path)["study_id"] if path.is_file() else [])
    todo = awaiting_curation(screening, curated)
    if todo.empty:
        print("every included record has a reviewer's decision and an extracted study")
        return 0
    print(f"{len(todo)} included record(s) need a reviewer:")
    for _, row in todo.iterrows():
        print(f"  {row['record_id']} (study {row['study_id']}, {row['source']}): {row['why']}")
    return 3 if args.fail_if_any else 0


def _output(p, default: str, what: str) -> None:
    """The one name every subcommand uses for the file it writes: ``-o/--output``."""
    p.add_argument("-o", "--output", default=default, metavar="PATH", help=f"where to write {what}")


CONFIG_HELP = "the review configuration (validated against its schema)"


def register(subparsers) -> None:
    """Add this module's subcommands to the ``ketamine-evidence`` parser."""
    p = subparsers.add_parser(
        "refresh",
        help="search PubMed and ClinicalTrials.gov live and add a new dated snapshot",
        description="Live refresh (network). Runs the PubMed and ClinicalTrials.gov searches "
                    "of the config and stores every answer, exactly as received, in a new "
                    "dated folder of the snapshot. Needs NCBI_EMAIL; NCBI_API_KEY optional. "
                    "Nothing is written unless every request succeeds. Each service option "
                    "below falls back to the environment variable named in its help, then to "
                    "the real service and its own policy, so the refresh can run against a "
                    "mirror, a proxy or a local replay server.")
    file_option(p, "--config", help=CONFIG_HELP)
    p.add_argument("--snapshot-dir", metavar="DIR",
                   help="snapshot folder to add to (default: review.snapshot_dir of the config)")
    from ..sources.settings import (
        CTGOV_DEFAULT,
        ENV,
        EUTILS_DEFAULT,
        RETRIES_DEFAULT,
        TIMEOUT_DEFAULT,
    )

    p.add_argument("--eutils-url", metavar="URL",
                   help=f"E-utilities base URL (env {ENV['eutils_url']}; "
                        f"default {EUTILS_DEFAULT})")
    p.add_argument("--ctgov-url", metavar="URL",
                   help=f"ClinicalTrials.gov API v2 base URL (env {ENV['ctgov_url']}; "
                        f"default {CTGOV_DEFAULT})")
    p.add_argument("--timeout", metavar="SECONDS",
                   help=f"seconds to wait for each answer (env {ENV['timeout']}; "
                        f"default {TIMEOUT_DEFAULT:g})")
    p.add_argument("--retries", metavar="N",
                   help="further attempts after a 429, 5xx, timeout or truncated answer, with "
                        f"exponential backoff (env {ENV['retries']}; default {RETRIES_DEFAULT})")
    p.add_argument("--rate-limit", metavar="PER_SECOND",
                   help=f"requests per second to each service (env {ENV['rate_limit']}; "
                        "default: PubMed 3/s, 10/s with NCBI_API_KEY; ClinicalTrials.gov 1/s). "
                        "Raise it only for a mirror or a local replay server")
    p.set_defaults(func=_cmd_refresh)

    p = subparsers.add_parser(
        "init-snapshot",
        help="write the manifest of a snapshot with no database search yet",
        description="Create the manifest.json of a snapshot in which no database search has "
                    "been run yet (records then come only from known_reports.csv). Never "
                    "overwrites an existing manifest.")
    p.add_argument("--snapshot-dir", default="data/raw/snapshot", metavar="DIR",
                   help="snapshot folder to create")
    p.set_defaults(func=_cmd_init)

    p = subparsers.add_parser(
        "records",
        help="parse the snapshot + known reports into records.csv and studies.csv (offline)",
        description="Parse the hash-checked snapshot and the reviewers' known_reports.csv into "
                    "one row per record (records.csv), deduplicate them and link PMIDs and NCT "
                    "IDs into studies (studies.csv).")
    file_option(p, "--config", help="read only when --snapshot-dir or --curated-dir is not given")
    p.add_argument("--snapshot-dir", metavar="DIR",
                   help="snapshot folder (default: review.snapshot_dir of the config)")
    p.add_argument("--curated-dir", metavar="DIR",
                   help="folder with known_reports.csv (default: review.curated_dir)")
    file_option(p, "--records", help="where to write the records table")
    file_option(p, "--studies", help="where to write the studies table")
    p.set_defaults(func=_cmd_records)

    p = subparsers.add_parser(
        "screen",
        help="apply the eligibility rules and reviewer overrides -> screening.csv",
        description="Screen every record with the eligibility rules of the config, then apply "
                    "the reviewers' overrides; each decision keeps its reason and who made it.")
    file_option(p, "--config", help=CONFIG_HELP)
    file_option(p, "--records")
    file_option(p, "--studies")
    p.add_argument("--overrides", default="data/raw/screening_overrides.csv", metavar="PATH",
                   help="reviewers' screening overrides (optional file)")
    _output(p, "data/processed/screening.csv", "the screening table")
    p.set_defaults(func=_cmd_screen)

    p = subparsers.add_parser(
        "awaiting",
        help="list included records awaiting a reviewer or extraction (the living review's "
             "to-do list); with --fail-if-any, exit 3 when there are some",
        description="List the records the screening rules include that no reviewer has "
                    "confirmed or extracted yet: the living review's to-do list.")
    file_option(p, "--screening")
    file_option(p, "--characteristics", help="curated study characteristics (extracted studies)")
    p.add_argument("--fail-if-any", action="store_true",
                   help="exit with status 3 when any record awaits a reviewer (for scheduled CI)")
    p.set_defaults(func=_cmd_awaiting)

    p = subparsers.add_parser(
        "prisma", help="PRISMA 2020 counts -> prisma.json",
        description="Count records and studies at every PRISMA 2020 stage (identification by "
                    "source, screening, exclusions with reasons, inclusion) into prisma.json.")
    file_option(p, "--records")
    file_option(p, "--screening")
    p.add_argument("--snapshot-dir", default="data/raw/snapshot", metavar="DIR",
                   help="read the manifest to report whether databases were searched")
    _output(p, "data/processed/prisma.json", "the PRISMA counts (JSON)")
    p.set_defaults(func=_cmd_prisma)
