"""ketamine-evidence: a living, reproducible evidence synthesis that tests claims against trials.

The question it reviews comes from the configuration; the default ``config.yaml`` reviews
ketamine for PTSD, and ``examples/`` holds a review of another question.

The package has a pure core (``effects``, ``conversions``, ``scales``, ``meta`` and the logic
of the ``screening``, ``analysis`` and ``synthesis`` stages) that does no IO, and thin
adapters (``sources`` for the network, ``tables`` for files, ``plots``, ``report``, ``cli``).

Layout by stage, in the order the workflow runs them (each subpackage's docstring says what
it owns and what it may import; ``tests/test_layers.py`` holds every module to those rules):

1. search: ``sources`` (PubMed and ClinicalTrials.gov clients, the dated raw snapshot);
2. records and screening: ``screening`` (records, eligibility, PRISMA counts), with the
   tables' contracts in ``schemas``;
3. extraction: ``extraction`` (the curated sheets, effect sizes with their provenance);
4. registry: ``registry_results`` (posted results of ClinicalTrials.gov registrations);
5. statistics: the pure core ``effects``, ``conversions``, ``scales`` and ``meta`` (top-level:
   ``ketamine_evidence.meta`` and ``ketamine_evidence.effects.escalc`` are the public API),
   and ``analysis``, the only step that pools;
6. synthesis and claims: ``synthesis`` (vote counting, thresholds, verdicts, GRADE);
7. living review: ``living`` (what changed between two versions);
8. presentation: ``plots`` and ``report``;
9. command line: ``cli`` (one subcommand per workflow step).

Shared by all stages: ``config`` (the validated, typed settings), ``types`` (the coded
values the stages hand to each other: verdicts, certainty levels, directions, claim
metrics, ...), ``wording`` (every label, built from the config), ``tables`` (the one table
reader and atomic writer) and ``provenance`` (build stamps).
"""

__version__ = "0.1.0"


class KetamineEvidenceError(Exception):
    """Base class of every error this package raises about its inputs or retrievals.

    The message alone names what is wrong and where (file, row, line, field; or the request),
    so the command line prints it as one line and exits with status 2, without a traceback.
    Subclasses also derive from the built-in class that fits (``ValueError``,
    ``RuntimeError``), so existing ``except ValueError`` code keeps working.
    """


class KetamineEvidenceWarning(UserWarning):
    """Base class for data-dependent warnings raised by this package."""
