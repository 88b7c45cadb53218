"""The living review: what changed between two versions of the review (pure).

:mod:`.changes` compares the records, registry statuses, posted results, PRISMA counts and
claims of two versions and writes the difference as Markdown or JSON
(``ketamine-evidence diff``, ``results/changes.json``).
Stage: living review, after synthesis and claims. It imports nothing of the package; the CLI
reads the versions' files and the report (:mod:`ketamine_evidence.report.living`) shows the
result.
"""
