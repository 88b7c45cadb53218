"""Parse raw PubMed/CT.gov responses, link publications with registrations, deduplicate.

Pure module: it works on a loaded snapshot and the curated ``known_reports.csv`` as read;
:mod:`ketamine_evidence.screening.io` reads them (its :func:`~.io.build_records` is the
entry point).

Two different groupings are kept apart:

* **duplicates** — the same report retrieved more than once (same PMID or DOI for a
  publication, same NCT ID for a registration). Union-find over those identifiers; the record
  from the highest-priority source (PubMed > ClinicalTrials.gov > other methods) is kept and the
  others point to it (``duplicate_of``), so PRISMA can count "duplicates removed".
* **studies** — reports and registrations of one trial, linked by PubMed's Secondary Source ID
  (``DataBankList``, provenance ``pubmed_si``), CT.gov ``referencesModule`` RESULT/DERIVED
  references (``ctgov_result``/``ctgov_derived``), the curator's ``study_id``
  (``curator``), and, only when a PubMed record has no SI entry and its abstract names exactly
  one NCT number, that number (``abstract_regex``, lower confidence). BACKGROUND references are
  recorded but never link.
"""

from __future__ import annotations

import json
import re
import warnings
from collections import defaultdict
from typing import TYPE_CHECKING

import defusedxml.ElementTree as safe_et
import pandas as pd
from defusedxml import DefusedXmlException

from ketamine_evidence import KetamineEvidenceError, KetamineEvidenceWarning
from ketamine_evidence.schemas.records import REASON_CODES

if TYPE_CHECKING:
    from ketamine_evidence.sources.snapshot import Snapshot

NCT_IN_TEXT = re.compile(r"\bNCT\d{8}\b", re.IGNORECASE)
NCT_ID = re.compile(r"^NCT\d{8}$")
SOURCE_RANK = {"pubmed": 0, "ctgov": 1, "other": 2}
KNOWN_REPORTS = "known_reports.csv"
KNOWN_REPORT_COLUMNS = ["report_id", "record_type", "pmid", "nct_id", "doi", "other_registry_id",
                        "first_author", "year", "title", "journal", "study_id", "found_via",
                        "source_url", "decision", "reason_code", "reason_text", "question",
                        # for ongoing studies and studies awaiting classification (optional)
                        "registry_status", "expected_completion"]
RECORD_TYPES = {"publication", "registration", "conference_abstract", "preprint", "review"}

#: Column order of ``records.csv`` (the contract other code reads; see schemas.records).
RECORD_COLUMNS = [
    "record_id", "source", "record_type", "pmid", "nct_id", "doi", "pmcid",
    "other_registry_ids", "registry_ids", "nct_ids_si", "nct_ids_abstract",
    "title", "journal", "year", "first_author", "publication_types", "mesh_terms", "abstract",
    "medline_status", "overall_status", "study_type", "phases", "allocation", "masking",
    "conditions", "interventions", "enrollment", "start_date", "completion_date",
    "has_results", "ref_pmids_result", "ref_pmids_derived", "ref_pmids_background",
    "cluster_id", "cluster_size", "is_duplicate", "duplicate_of", "study_id",
    "link_provenance", "snapshot_file",
    "curator_decision", "curator_reason_code", "curator_reason_text", "question", "found_via",
]
STUDY_COLUMNS = ["study_id", "study_id_source", "record_ids", "pmids", "nct_ids", "dois",
                 "n_records", "n_publications", "n_registrations", "sources", "title"]


class RecordsError(KetamineEvidenceError, ValueError):
    """A raw file or curated sheet cannot be read; the message names the file."""


# ----------------------------------------------------------------------------- helpers
def _text(element) -> str | None:
    """All text inside ``element`` (inline markup such as <i>, <sup>, MathML kept as text)."""
    if element is None:
        return None
    text = " ".join("".join(element.itertext()).split())
    return text or None


def _missing(value) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value))


def _join(values) -> str | None:
    values = [str(v) for v in dict.fromkeys(v for v in values if v not in (None, ""))]
    return ";".join(values) if values else None


def _split(value) -> list[str]:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        return []
    return [v for v in str(value).split(";") if v]


def _norm_doi(doi) -> str | None:
    if not doi or (isinstance(doi, float) and pd.isna(doi)):
        return None
    doi = str(doi).strip()
    doi = re.sub(r"^(https?://(dx\.)?doi\.org/|doi:\s*)", "", doi, flags=re.IGNORECASE)
    return doi.lower() or None


def _norm_pmid(pmid) -> str | None:
    if pmid is None or (isinstance(pmid, float) and pd.isna(pmid)):
        return None
    pmid = str(pmid).strip()
    pmid = re.sub(r"^PMID:\s*", "", pmid, flags=re.IGNORECASE)
    if pmid.endswith(".0"):
        pmid = pmid[:-2]
    return pmid if pmid.isdigit() else None


def _norm_nct(nct) -> str | None:
    if not nct or (isinstance(nct, float) and pd.isna(nct)):
        return None
    nct = str(nct).strip().upper()
    return nct if NCT_ID.match(nct) else None


def _empty_record(**values) -> dict:
    record = dict.fromkeys(RECORD_COLUMNS)
    record.update(values)
    return record


# ----------------------------------------------------------------------------- PubMed
def parse_pubmed_xml(data: bytes, source_file: str | None = None) -> list[dict]:
    """Parse an EFetch ``PubmedArticleSet`` into record dicts (columns of ``records.csv``).

    The XML is parsed with ``defusedxml``: entity declarations (e.g. "billion laughs") and
    external entities are refused.

    Raises
    ------
    RecordsError
        Malformed/truncated XML, a refused entity, or a root that is not ``PubmedArticleSet``;
        the message names ``source_file``.
    """
    name = source_file or "<PubMed XML>"
    try:
        root = safe_et.fromstring(data)
    except DefusedXmlException as exc:
        raise RecordsError(f"{name}: refused unsafe XML ({type(exc).__name__}: {exc})") from exc
    except safe_et.ParseError as exc:
        raise RecordsError(f"{name}: not well-formed XML, possibly truncated ({exc})") from exc
    if root.tag != "PubmedArticleSet":
        raise RecordsError(f"{name}: expected <PubmedArticleSet>, found <{root.tag}>")
    records = []
    for article in root:
        if article.tag == "PubmedArticle":
            records.append(_parse_pubmed_article(article, name))
        elif article.tag == "PubmedBookArticle":
            records.append(_parse_pubmed_book(article, name))
    return records


def _article_ids(article) -> dict[str, str]:
    ids = {}
    for aid in article.findall("PubmedData/ArticleIdList/ArticleId"):
        kind = aid.get("IdType")
        if kind and aid.text and kind not in ids:
            ids[kind] = aid.text.strip()
    return ids


def _parse_pubmed_article(article, name: str) -> dict:
    citation = article.find("MedlineCitation")
    if citation is None:
        raise RecordsError(f"{name}: a PubmedArticle has no MedlineCitation")
    pmid = _norm_pmid(citation.findtext("PMID"))
    if not pmid:
        raise RecordsError(f"{name}: a PubmedArticle has no PMID")
    art = citation.find("Article")
    if art is None:
        raise RecordsError(f"{name}: PMID {pmid} has no Article element")
    ids = _article_ids(article)
    doi = ids.get("doi")
    if not doi:
        for loc in art.findall("ELocationID"):
            if loc.get("EIdType") == "doi" and loc.text:
                doi = loc.text
                break
    abstract_parts = []
    for part in art.findall("Abstract/AbstractText"):
        text = _text(part)
        if text:
            label = part.get("Label")
            abstract_parts.append(f"{label}: {text}" if label else text)
    abstract = "\n".join(abstract_parts) or None

    registry, si_ncts = [], []
    for bank in art.findall("DataBankList/DataBank"):
        bank_name = (bank.findtext("DataBankName") or "").strip()
        for acc in bank.findall("AccessionNumberList/AccessionNumber"):
            if acc.text:
                registry.append(f"{bank_name}:{acc.text.strip()}")
                nct = _norm_nct(acc.text)
                if nct and bank_name.lower().startswith("clinicaltrials"):
                    si_ncts.append(nct)
    abstract_ncts = sorted({m.upper() for m in NCT_IN_TEXT.findall(abstract or "")})

    author = art.find("AuthorList/Author")
    first_author = None
    if author is not None:
        first_author = author.findtext("LastName") or author.findtext("CollectiveName")
    return _empty_record(
        source="pubmed",
        record_type="publication",
        pmid=pmid,
        doi=_norm_doi(doi),
        pmcid=ids.get("pmc"),
        registry_ids=_join(registry),
        nct_ids_si=_join(si_ncts),
        nct_ids_abstract=_join(abstract_ncts),
        title=_text(art.find("ArticleTitle")) or _text(art.find("VernacularTitle")),
        journal=_text(art.find("Journal/Title")),
        year=_pub_year(art),
        first_author=first_author,
        publication_types=_join(_text(p) for p in art.findall(
            "PublicationTypeList/PublicationType")),
        mesh_terms=_join(_text(d) for d in citation.findall(
            "MeshHeadingList/MeshHeading/DescriptorName")),
        abstract=abstract,
        medline_status=citation.get("Status"),
    )


def _pub_year(art) -> int | None:
    pub = art.find("Journal/JournalIssue/PubDate")
    candidates = []
    if pub is not None:
        candidates += [pub.findtext("Year"), pub.findtext("MedlineDate")]
    candidates.append(art.findtext("ArticleDate/Year"))
    for text in candidates:
        match = re.search(r"\b(1[89]\d\d|2\d\d\d)\b", text or "")
        if match:
            return int(match.group(1))
    return None


def _parse_pubmed_book(article, name: str) -> dict:
    doc = article.find("BookDocument")
    pmid = _norm_pmid(doc.findtext("PMID") if doc is not None else None)
    if not pmid:
        raise RecordsError(f"{name}: a PubmedBookArticle has no PMID")
    ids = _article_ids(article)
    year = doc.findtext("Book/PubDate/Year")
    return _empty_record(
        source="pubmed", record_type="publication", pmid=pmid,
        doi=_norm_doi(ids.get("doi")), title=_text(doc.find("ArticleTitle"))
        or _text(doc.find("Book/BookTitle")), year=int(year) if year and year.isdigit() else None,
        publication_types=_join(_text(p) for p in doc.findall(
            "PublicationType")) or "Book Chapter",
        abstract="\n".join(filter(None, (_text(a) for a in doc.findall(
            "Abstract/AbstractText")))) or None,
    )


# ----------------------------------------------------------------------------- CT.gov
def parse_ctgov_json(data: bytes, source_file: str | None = None) -> list[dict]:
    """Parse a CT.gov v2 answer: a ``/studies`` page (``{"studies": [...]}``) or one study.

    Modules absent from ``fields``-restricted answers give empty values, not errors.
    """
    name = source_file or "<CT.gov JSON>"
    try:
        payload = json.loads(data)
    except ValueError as exc:
        raise RecordsError(f"{name}: not valid JSON, possibly truncated ({exc})") from exc
    if not isinstance(payload, dict):
        raise RecordsError(f"{name}: expected a JSON object")
    if "studies" in payload:
        studies = payload["studies"]
        if not isinstance(studies, list):
            raise RecordsError(f"{name}: 'studies' is not a list")
    elif "protocolSection" in payload:
        studies = [payload]
    else:
        raise RecordsError(f"{name}: neither a study nor a page of studies")
    return [parse_ctgov_study(s, name) for s in studies]


def parse_ctgov_study(study: dict, name: str = "<CT.gov study>") -> dict:
    """One CT.gov v2 study object as a record dict."""
    protocol = study.get("protocolSection") or {}
    ident = protocol.get("identificationModule") or {}
    nct = _norm_nct(ident.get("nctId"))
    if not nct:
        raise RecordsError(f"{name}: a study has no valid protocolSection.identificationModule"
                           ".nctId")
    status = protocol.get("statusModule") or {}
    design = protocol.get("designModule") or {}
    info = design.get("designInfo") or {}
    arms = protocol.get("armsInterventionsModule") or {}
    conditions = protocol.get("conditionsModule") or {}
    refs = (protocol.get("referencesModule") or {}).get("references") or []
    ref_pmids = defaultdict(list)
    for ref in refs:
        pmid = _norm_pmid(ref.get("pmid"))
        if pmid:
            ref_pmids[str(ref.get("type", "")).upper()].append(pmid)
    secondary = [s.get("id") for s in ident.get("secondaryIdInfos") or [] if s.get("id")]
    interventions = []
    for item in arms.get("interventions") or []:
        label = f"{item.get('type', '')}: {item.get('name', '')}".strip(": ")
        others = item.get("otherNames") or []
        interventions.append(label + (f" ({', '.join(others)})" if others else ""))
    if not interventions:  # search pages restricted with fields=InterventionName
        interventions = [i.get("name") for i in arms.get("interventions") or []]
    arm_labels = [f"{a.get('type', '')}: {a.get('label', '')}".strip(": ")
                  for a in arms.get("armGroups") or []]
    enrollment = (design.get("enrollmentInfo") or {}).get("count")
    has_results = study.get("hasResults")
    start = (status.get("startDateStruct") or {}).get("date")
    return _empty_record(
        source="ctgov",
        record_type="registration",
        nct_id=nct,
        other_registry_ids=_join([ident.get("orgStudyIdInfo", {}).get("id"), *secondary]),
        title=ident.get("officialTitle") or ident.get("briefTitle"),
        year=int(start[:4]) if start and start[:4].isdigit() else None,
        abstract=(protocol.get("descriptionModule") or {}).get("briefSummary"),
        overall_status=status.get("overallStatus"),
        study_type=design.get("studyType"),
        phases=_join(design.get("phases") or []),
        allocation=info.get("allocation"),
        masking=(info.get("maskingInfo") or {}).get("masking"),
        conditions=_join([*(conditions.get("conditions") or []),
                          *(conditions.get("keywords") or [])]),
        interventions=_join([*interventions, *arm_labels]),
        enrollment=int(enrollment) if isinstance(enrollment, int | float) else None,
        start_date=start,
        completion_date=(status.get("completionDateStruct") or {}).get("date"),
        has_results=bool(has_results) if has_results is not None else None,
        ref_pmids_result=_join(ref_pmids.get("RESULT", [])),
        ref_pmids_derived=_join(ref_pmids.get("DERIVED", [])),
        ref_pmids_background=_join(ref_pmids.get("BACKGROUND", [])),
    )


# ----------------------------------------------------------------------------- curated
def check_known_reports(frame: pd.DataFrame, name: str = KNOWN_REPORTS) -> pd.DataFrame:
    """Check every row of ``known_reports.csv`` as read (CODEBOOK.md); return it completed.

    ``frame`` is the sheet as text (:func:`ketamine_evidence.tables.read_csv_text`, whose
    ``attrs["lines"]`` give each row's line in the file) and ``name`` the file the messages
    name. Optional columns that are absent are added empty.

    Raises
    ------
    RecordsError
        Listing every problem with file, row, line, report and field: a missing column, an
        empty or repeated ``report_id``, an unknown ``record_type``, ``decision``,
        ``reason_code`` or ``question``, a ``pmid`` or ``nct_id`` that is not one (it would
        otherwise be dropped silently and the report left unlinked).
    """
    missing = {"report_id", "record_type"} - set(frame.columns)
    if missing:
        raise RecordsError(f"{name}: missing column(s) {sorted(missing)}")
    for column in KNOWN_REPORT_COLUMNS:
        if column not in frame.columns:
            frame[column] = None
    problems = []
    seen: set[str] = set()
    for i, row in enumerate(frame.to_dict("records")):
        where = f"{name} row {i + 1} (line {frame.attrs['lines'][i]}; {row['report_id']})"
        problems += [f"{where}: {p}" for p in _known_report_problems(row, seen)]
    if problems:
        raise RecordsError("\n  ".join([f"{len(problems)} problem(s) in {name}:", *problems]))
    return frame


#: Allowed values of the coded columns of ``known_reports.csv`` (empty is allowed too).
KNOWN_REPORT_CODES = {"decision": ("include", "exclude"), "reason_code": tuple(REASON_CODES),
                      "question": ("treatment", "prevention", "other")}


def _known_report_problems(row: dict, seen: set[str]) -> list[str]:
    problems = []
    report_id = row["report_id"]
    if report_id is None:
        problems.append("report_id: is empty")
    elif report_id in seen:
        problems.append(f"report_id: {report_id!r} is used by an earlier row")
    seen.add(report_id)
    if row["record_type"] not in RECORD_TYPES:
        problems.append(f"record_type: {row['record_type']!r} is not one of "
                        f"{sorted(RECORD_TYPES)}")
    if row["pmid"] is not None and _norm_pmid(row["pmid"]) is None:
        problems.append(f"pmid: {row['pmid']!r} is not a PMID (digits, optionally 'PMID:')")
    if row["nct_id"] is not None and _norm_nct(row["nct_id"]) is None:
        problems.append(f"nct_id: {row['nct_id']!r} is not an NCT ID (NCT and 8 digits)")
    for column, allowed in KNOWN_REPORT_CODES.items():
        if row[column] is not None and row[column] not in allowed:
            problems.append(f"{column}: {row[column]!r} is not one of {list(allowed)}")
    return problems


def known_report_records(frame: pd.DataFrame, file_name: str = KNOWN_REPORTS) -> list[dict]:
    records = []
    for raw in frame.to_dict("records"):
        row = {k: (None if _missing(v) else v) for k, v in raw.items()}
        year = row.get("year")
        records.append(_empty_record(
            record_id=row["report_id"],
            source="other",
            record_type=row["record_type"],
            pmid=_norm_pmid(row.get("pmid")),
            nct_id=_norm_nct(row.get("nct_id")),
            doi=_norm_doi(row.get("doi")),
            other_registry_ids=row.get("other_registry_id"),
            title=row.get("title"),
            journal=row.get("journal"),
            year=int(str(year)[:4]) if year and str(year)[:4].isdigit() else None,
            first_author=row.get("first_author"),
            study_id=row.get("study_id"),
            snapshot_file=file_name,
            curator_decision=row.get("decision"),
            curator_reason_code=row.get("reason_code"),
            curator_reason_text=row.get("reason_text"),
            question=row.get("question"),
            found_via=row.get("found_via"),
        ))
    return records


# ----------------------------------------------------------------------------- union-find
class UnionFind:
    def __init__(self):
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def groups(self, items) -> dict[str, list[str]]:
        out = defaultdict(list)
        for item in items:
            out[self.find(item)].append(item)
        return out


def _identity_keys(rec: dict) -> list[str]:
    """Identifiers that make two records the *same report*."""
    if rec["record_type"] == "registration":
        keys = [f"NCT:{rec['nct_id']}"] if rec.get("nct_id") else []
        keys += [f"REG:{r.upper()}" for r in _split(rec.get("other_registry_ids"))
                 if rec["source"] == "other"]
        return keys
    keys = []
    if rec.get("pmid"):
        keys.append(f"PMID:{rec['pmid']}")
    if rec.get("doi"):
        keys.append(f"DOI:{rec['doi']}")
    return keys


def deduplicate(records: list[dict]) -> None:
    """Fill ``cluster_id``, ``cluster_size``, ``is_duplicate``, ``duplicate_of`` in place."""
    uf = UnionFind()
    for rec in records:
        node = f"R:{rec['record_id']}"
        uf.find(node)
        for key in _identity_keys(rec):
            uf.union(node, key)
    by_id = {r["record_id"]: r for r in records}
    groups = uf.groups([f"R:{r['record_id']}" for r in records])
    for members in groups.values():
        recs = sorted((by_id[m[2:]] for m in members),
                      key=lambda r: (SOURCE_RANK[r["source"]], r["record_id"]))
        keep = recs[0]["record_id"]
        for rec in recs:
            rec["cluster_id"] = keep
            rec["cluster_size"] = len(recs)
            rec["is_duplicate"] = rec["record_id"] != keep
            rec["duplicate_of"] = keep if rec["record_id"] != keep else None


def link_studies(records: list[dict]) -> None:
    """Fill ``study_id`` and ``link_provenance`` in place (see module docstring)."""
    uf = UnionFind()
    provenance = defaultdict(list)
    for rec in records:
        node = f"R:{rec['record_id']}"
        uf.find(node)
        uf.union(node, f"R:{rec['cluster_id']}")  # duplicates belong to their kept record
        if rec["record_type"] == "registration" and rec.get("nct_id"):
            uf.union(node, f"NCT:{rec['nct_id']}")
        elif rec.get("pmid"):
            uf.union(node, f"PMID:{rec['pmid']}")
        if rec["record_type"] != "registration" and rec.get("doi"):
            uf.union(node, f"DOI:{rec['doi']}")
        for nct in _split(rec.get("nct_ids_si")):
            uf.union(node, f"NCT:{nct}")
            provenance[rec["record_id"]].append(f"pubmed_si:{nct}")
        abstract_ncts = _split(rec.get("nct_ids_abstract"))
        if rec["source"] == "pubmed" and not rec.get("nct_ids_si") and len(abstract_ncts) == 1:
            uf.union(node, f"NCT:{abstract_ncts[0]}")
            provenance[rec["record_id"]].append(f"abstract_regex:{abstract_ncts[0]}")
        for kind in ("result", "derived"):
            for pmid in _split(rec.get(f"ref_pmids_{kind}")):
                uf.union(node, f"PMID:{pmid}")
                provenance[rec["record_id"]].append(f"ctgov_{kind}:PMID:{pmid}")
        if rec["source"] == "other":
            if rec["record_type"] != "registration" and rec.get("nct_id"):
                uf.union(node, f"NCT:{rec['nct_id']}")
                provenance[rec["record_id"]].append(f"curator_nct:{rec['nct_id']}")
            if rec.get("study_id"):
                uf.union(node, f"S:{rec['study_id']}")
                provenance[rec["record_id"]].append(f"curator:{rec['study_id']}")
    by_id = {r["record_id"]: r for r in records}
    groups = uf.groups([f"R:{r['record_id']}" for r in records])
    for members in groups.values():
        recs = [by_id[m[2:]] for m in members]
        curated = sorted({r["study_id"] for r in recs if r.get("study_id")})
        if len(curated) > 1:
            warnings.warn(
                f"records {sorted(r['record_id'] for r in recs)} are linked by identifiers "
                f"but the curator gave different study_ids {curated}; each curated record "
                f"keeps its own, the others get {curated[0]!r}",
                KetamineEvidenceWarning, stacklevel=2)
        study = curated[0] if curated else _auto_study_id(recs, provenance)
        for rec in recs:
            if not rec.get("study_id"):
                rec["study_id"] = study
            rec["link_provenance"] = _join(provenance.get(rec["record_id"], []))


def _auto_study_id(recs: list[dict], provenance: dict) -> str:
    linked = {p.split(":", 1)[1] for r in recs for p in provenance.get(r["record_id"], [])
              if p.startswith(("pubmed_si:", "abstract_regex:", "curator_nct:"))}
    ncts = sorted({r["nct_id"] for r in recs if r["record_type"] == "registration"
                   and r.get("nct_id")} | linked)
    if ncts:
        return f"auto_{ncts[0].lower()}"
    pmids = sorted({r["pmid"] for r in recs if r.get("pmid")}, key=int)
    if pmids:
        return f"auto_pmid{pmids[0]}"
    return f"auto_{sorted(r['record_id'] for r in recs)[0].lower()}"


def studies_table(records: pd.DataFrame) -> pd.DataFrame:
    """One row per study: its records, PMIDs, NCT IDs and DOIs (``;``-joined)."""
    rows = []
    for study_id, group in records.groupby("study_id", sort=True):
        group = group.sort_values("record_id")
        pubs = group[group["record_type"] != "registration"]
        regs = group[group["record_type"] == "registration"]
        pmids = sorted({p for p in group["pmid"].dropna()}, key=int)
        ncts = sorted(set(regs["nct_id"].dropna()) | {
            n for v in group["nct_ids_si"].dropna() for n in _split(v)})
        titles = pubs["title"].dropna().tolist() or group["title"].dropna().tolist()
        rows.append({
            "study_id": study_id,
            "study_id_source": "auto" if str(study_id).startswith("auto_") else "curator",
            "record_ids": _join(group["record_id"]),
            "pmids": _join(pmids),
            "nct_ids": _join(ncts),
            "dois": _join(sorted(set(group["doi"].dropna()))),
            "n_records": len(group),
            "n_publications": len(pubs),
            "n_registrations": len(regs),
            "sources": _join(sorted(set(group["source"]))),
            "title": titles[0] if titles else None,
        })
    return pd.DataFrame(rows, columns=STUDY_COLUMNS)


# ----------------------------------------------------------------------------- assembly
def records_from_snapshot(snapshot: Snapshot) -> list[dict]:
    """Records parsed from a loaded snapshot (PubMed EFetch files, CT.gov study files).

    Each record gets its ``record_id`` (``PMID:<pmid>`` or the NCT ID; a repeat gets
    ``~2``, ``~3``, ...) and the ``snapshot_file`` it was read from. A registration listed by
    the search whose full record is absent keeps its search-page fields.
    """
    records: list[dict] = []
    seen: dict[str, int] = defaultdict(int)

    def add(rec: dict, base_id: str, path: str):
        seen[base_id] += 1
        rec["record_id"] = base_id if seen[base_id] == 1 else f"{base_id}~{seen[base_id]}"
        rec["snapshot_file"] = path
        records.append(rec)

    for f in snapshot.of("pubmed", "efetch"):
        for rec in parse_pubmed_xml(f.content, f.path):
            add(rec, f"PMID:{rec['pmid']}", f.path)
    full = {}
    for f in snapshot.of("ctgov", "study"):
        for rec in parse_ctgov_json(f.content, f.path):
            full[rec["nct_id"]] = (rec, f.path)
    # Studies listed by the search whose full record is absent keep their search-page fields.
    for f in snapshot.of("ctgov", "search"):
        for rec in parse_ctgov_json(f.content, f.path):
            full.setdefault(rec["nct_id"], (rec, f.path))
    for nct in sorted(full):
        rec, path = full[nct]
        add(rec, nct, path)
    return records


def assemble_records(database_records: list[dict],
                     known: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``records`` (one row per retrieved record) and ``studies`` (one row per study).

    Parameters
    ----------
    database_records : list of dict
        From :func:`records_from_snapshot`; the list is extended, not copied.
    known : pandas.DataFrame
        The checked ``known_reports.csv`` (:func:`check_known_reports`): records identified
        from other methods.

    Returns
    -------
    records, studies : pandas.DataFrame
        Columns :data:`RECORD_COLUMNS` and :data:`STUDY_COLUMNS`, validated against
        :mod:`ketamine_evidence.schemas.records`.
    """
    records = database_records
    taken = {r["record_id"] for r in records}
    for rec in known_report_records(known):
        if rec["record_id"] in taken:
            raise RecordsError(f"{KNOWN_REPORTS}: report_id {rec['record_id']} clashes with a "
                               "database record id")
        records.append(rec)
    deduplicate(records)
    link_studies(records)
    frame = pd.DataFrame(records, columns=RECORD_COLUMNS)
    frame = frame.sort_values(["source", "record_id"],
                              key=lambda s: s.map(SOURCE_RANK) if s.name == "source" else s)
    frame = frame.reset_index(drop=True)
    from ketamine_evidence.schemas.records import RECORDS_SCHEMA, STUDIES_SCHEMA

    frame = RECORDS_SCHEMA.validate(frame)
    studies = STUDIES_SCHEMA.validate(studies_table(frame))
    return frame, studies
