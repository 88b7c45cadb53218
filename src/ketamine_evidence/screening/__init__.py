"""Records and screening: from the raw snapshot to the PRISMA 2020 flow.

:mod:`.records` parses the snapshot's PubMed XML and ClinicalTrials.gov JSON and the curated
``known_reports.csv``, removes duplicate reports and links the reports of one trial into a
study (``records.csv``, ``studies.csv``); :mod:`.eligibility` screens every record by the
config's eligibility rules and the reviewers' overrides (``screening.csv``, one row per
record); :mod:`.prisma` counts the flow-diagram boxes from those two tables and checks that
they add up (``prisma.json``). Each imports only those listed before it. These three are
pure; :mod:`.io` reads the snapshot and the curated sheets and hands them over.
Stage: records and screening, after ``sources`` (search). It may import ``sources`` (the
snapshot reader), ``schemas`` (the tables' contracts), ``config`` and ``tables``; extraction,
the report and the CLI use it.
"""
