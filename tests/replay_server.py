"""A local HTTP server that imitates E-utilities and the ClinicalTrials.gov v2 API (tests only).

It serves real recorded responses from the shared fixtures folder (``fixtures/real/``, see
its ``SOURCES.md``) and small recordings derived from them, so that ``ketamine-evidence
refresh`` can run end to end through its real clients without network:

- ``GET|POST <base>/eutils/esearch.fcgi`` (``usehistory=y`` required): the real ESearch answer
  ``pubmed_esearch_biopython_esearch2_usehistory_webenv.xml`` with ``Count``, ``RetMax`` and
  ``IdList`` replaced by the PMIDs this server holds (its ``WebEnv``/``QueryKey`` kept);
- ``GET|POST <base>/eutils/efetch.fcgi`` with that ``WebEnv``/``query_key`` and
  ``retstart``/``retmax``: a ``PubmedArticleSet`` whose ``PubmedArticle`` elements are cut,
  byte for byte, from the real EFetch recordings;
- ``GET <base>/ctgov/api/v2/studies`` with ``pageSize`` and ``pageToken`` paging
  (``totalCount`` on the first page with ``countTotal=true``, no ``nextPageToken`` on the
  last), each study reduced to the modules a search page carries;
- ``GET <base>/ctgov/api/v2/studies/{nctId}``: the full record (real AACT/biomcp records,
  or a SYNTHETIC one given by the test).

The server binds 127.0.0.1 on an ephemeral port, records every request, and shuts itself
down after ``lifetime`` seconds even if a test forgets to stop it.
"""

from __future__ import annotations

import copy
import json
import re
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ESEARCH = "pubmed_esearch_biopython_esearch2_usehistory_webenv.xml"
EFETCH = ("pubmed_efetch_biopython_pubmed1_2records.xml",
          "pubmed_efetch_biopython_pubmed2_2records.xml",
          "pubmed_efetch_biomcp_22663011_rct_databank_NCT01245062.xml",
          "pubmed_efetch_pubmedparser_29768149_rct_databank_NCT02149199.xml")
STUDIES = ("ctgov_v2_study_aact_NCT02210780.json", "ctgov_v2_study_aact_NCT03418623.json",
           "ctgov_v2_biomcp_get_nct02576665_20260811.json",
           "ctgov_v2_biomcp_get_nct06382129_20260811.json")
#: modules a /studies search page keeps (the client asks for these fields only)
SEARCH_MODULES = ("identificationModule", "statusModule", "conditionsModule", "designModule",
                  "armsInterventionsModule")


def real_fixtures(root: Path) -> Path | None:
    """The shared folder of real recordings: ``../shared/fixtures/real`` beside the clone
    (CI) or one level further up (a worktree under ``wt/``); ``None`` when absent."""
    for base in (root.parent, root.parent.parent):
        folder = base / "shared" / "fixtures" / "real"
        if (folder / ESEARCH).is_file():
            return folder
    return None


def pubmed_articles(real: Path) -> dict[str, bytes]:
    """PMID -> the ``<PubmedArticle>`` element exactly as recorded, from the real EFetch files."""
    out = {}
    for name in EFETCH:
        data = (real / name).read_bytes()
        for segment in re.findall(rb"<PubmedArticle>.*?</PubmedArticle>", data, re.S):
            pmid = re.search(rb"<PMID[^>]*>(\d+)</PMID>", segment).group(1).decode()
            out[pmid] = segment
    return out


def real_studies(real: Path) -> dict[str, bytes]:
    """NCT ID -> full study record (real AACT and biomcp recordings)."""
    out = {}
    for name in STUDIES:
        data = (real / name).read_bytes()
        out[json.loads(data)["protocolSection"]["identificationModule"]["nctId"]] = data
    return out


@dataclass
class ReplayData:
    """What the server answers with. ``pmids`` in ESearch order; ``studies`` in search order."""

    real: Path
    articles: dict[str, bytes]
    pmids: list[str]
    studies: dict[str, bytes]
    webenv: str = ""
    query_key: str = "1"
    esearch_template: bytes = b""
    efetch_header: bytes = b""

    def __post_init__(self):
        self.esearch_template = (self.real / ESEARCH).read_bytes()
        self.webenv = re.search(rb"<WebEnv>([^<]+)</WebEnv>",
                                self.esearch_template).group(1).decode()
        first = (self.real / EFETCH[0]).read_bytes()
        self.efetch_header = first[:first.index(b"<PubmedArticleSet>")]

    def esearch(self) -> bytes:
        ids = b"".join(b"<Id>%s</Id>\n" % p.encode() for p in self.pmids)
        body = re.sub(rb"<Count>\d+</Count>", b"<Count>%d</Count>" % len(self.pmids),
                      self.esearch_template, count=1)
        body = re.sub(rb"<RetMax>\d+</RetMax>", b"<RetMax>%d</RetMax>" % len(self.pmids),
                      body, count=1)
        return re.sub(rb"<IdList>.*?</IdList>", b"<IdList>\n" + ids + b"</IdList>", body,
                      count=1, flags=re.S)

    def efetch(self, retstart: int, retmax: int) -> bytes:
        chosen = self.pmids[retstart:retstart + retmax]
        return (self.efetch_header + b"<PubmedArticleSet>\n"
                + b"\n".join(self.articles[p] for p in chosen) + b"\n</PubmedArticleSet>\n")

    def search_page(self, size: int, offset: int, count_total: bool) -> bytes:
        ncts = list(self.studies)
        page = []
        for nct in ncts[offset:offset + size]:
            full = json.loads(self.studies[nct])
            protocol = full.get("protocolSection", {})
            page.append({"protocolSection": {k: protocol[k] for k in SEARCH_MODULES
                                             if k in protocol},
                         "hasResults": bool(full.get("hasResults", False))})
        answer: dict = {"studies": page}
        if count_total and offset == 0:
            answer["totalCount"] = len(ncts)
        if offset + size < len(ncts):
            answer["nextPageToken"] = f"replay-offset-{offset + size}"
        return json.dumps(answer).encode()


@dataclass
class ReplayServer:
    """Run :class:`ReplayData` on 127.0.0.1; ``with ReplayServer(data) as server: server.url``."""

    data: ReplayData
    lifetime: float = 300.0
    requests: list[dict] = field(default_factory=list)

    def __enter__(self) -> ReplayServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def _answer(self, status: int, body: bytes, kind: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _handle(self, params: dict[str, str]) -> None:
                path = urllib.parse.urlsplit(self.path).path
                owner.requests.append({"method": self.command, "path": path, "params": params,
                                       "user_agent": self.headers.get("User-Agent", "")})
                data = owner.data
                xml, js = "text/xml; charset=UTF-8", "application/json"
                if path.endswith("/eutils/esearch.fcgi"):
                    if params.get("usehistory") != "y":
                        return self._answer(400, b"usehistory=y expected", "text/plain")
                    return self._answer(200, data.esearch(), xml)
                if path.endswith("/eutils/efetch.fcgi"):
                    if (params.get("WebEnv") != data.webenv
                            or params.get("query_key") != data.query_key):
                        return self._answer(400, b"unknown WebEnv/query_key", "text/plain")
                    return self._answer(200, data.efetch(int(params.get("retstart", 0)),
                                                         int(params.get("retmax", 20))), xml)
                if path.endswith("/api/v2/studies"):
                    token = params.get("pageToken", "replay-offset-0")
                    offset = int(token.rsplit("-", 1)[-1])
                    return self._answer(200, data.search_page(
                        int(params.get("pageSize", 10)), offset,
                        params.get("countTotal") == "true"), js)
                match = re.search(r"/api/v2/studies/(NCT\d{8})$", path)
                if match and match.group(1) in data.studies:
                    return self._answer(200, data.studies[match.group(1)], js)
                return self._answer(404, b"not recorded", "text/plain")

            def do_GET(self):
                query = urllib.parse.urlsplit(self.path).query
                self._handle(dict(urllib.parse.parse_qsl(query)))

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                form = self.rfile.read(length).decode()
                params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
                params.update(urllib.parse.parse_qsl(form))
                self._handle(params)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self._timer = threading.Timer(self.lifetime, self._server.shutdown)
        self._timer.daemon = True
        self._timer.start()
        return self

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def eutils_url(self) -> str:
        return f"{self.url}/eutils/"

    @property
    def ctgov_url(self) -> str:
        return f"{self.url}/ctgov/api/v2"

    def __exit__(self, *exc) -> None:
        self._timer.cancel()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


# -- the data set the living-review tests serve ----------------------------------------------
E2E = Path(__file__).resolve().parent / "e2e"
#: a SYNTHETIC registration (not a registered study), derived from the e2e alpha record
NEW_NCT = "NCT99990002"


def synthetic_registration(completed: bool) -> bytes:
    """SYNTHETIC NCT99990002: the e2e alpha record renamed; recruiting without results, or
    completed with its results posted."""
    study = copy.deepcopy(json.loads((E2E / "sources" / "ctgov_study_NCT99990001.json")
                                     .read_bytes()))
    ident = study["protocolSection"]["identificationModule"]
    ident.update(nctId=NEW_NCT, orgStudyIdInfo={"id": "FAKE-DELTA-002"},
                 briefTitle="SYNTHETIC test record: ketamine vs saline for PTSD (fake delta "
                            "trial)",
                 officialTitle="SYNTHETIC test record, not a registered study: randomised trial "
                               "of ketamine vs saline for posttraumatic stress disorder (delta)")
    status = study["protocolSection"]["statusModule"]
    if completed:
        status["overallStatus"] = "COMPLETED"
        study["hasResults"] = True
    else:
        status["overallStatus"] = "RECRUITING"
        study["hasResults"] = False
        study.pop("resultsSection", None)
    return json.dumps(study, indent=2).encode()


def review_data(real: Path, pmids: list[str], ncts: list[str], completed: bool) -> ReplayData:
    """Real PubMed articles ``pmids`` and real registrations ``ncts``, then the synthetic e2e
    registration NCT99990001 and NCT99990002 (``completed`` with results, or recruiting)."""
    studies = real_studies(real)
    studies["NCT99990001"] = (E2E / "sources" / "ctgov_study_NCT99990001.json").read_bytes()
    studies[NEW_NCT] = synthetic_registration(completed)
    return ReplayData(real=real, articles=pubmed_articles(real), pmids=pmids,
                      studies={n: studies[n] for n in [*ncts, "NCT99990001", NEW_NCT]})
