"""Sources (stage: search): PubMed and ClinicalTrials.gov searches and the offline snapshot.

The only code in the package that talks to the network; it owns the HTTP client, the
search settings and the snapshot folder (manifest, raw answers). It may import
``config``, ``tables`` and ``schemas``; the records stage reads what it wrote.
"""
