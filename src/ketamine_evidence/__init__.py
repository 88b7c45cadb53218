"""ketamine-evidence: a living, reproducible evidence synthesis that tests claims against trials.

The question it reviews comes from the configuration; the default ``config.yaml`` reviews
ketamine for PTSD, and ``examples/`` holds a review of another question.

The package has a pure core (``effects``, ``meta``, ``claims``, ...) that does no IO,
and thin adapters (``sources`` for the network, ``io`` for files, ``plots``, ``report``).

Layout by stage (each subpackage's docstring says what it owns and may import): search
``sources``; records and screening ``records``, ``screening``, ``prisma`` (table contracts
in ``schemas``); extraction ``extraction``; registry ``registry_results``; statistics
``effects``, ``conversions``, ``meta`` (pure), ``analysis``, ``fits``, ``posterior``,
``reproduce``; synthesis and claims ``synthesis``, ``thresholds``, ``claims``,
``certainty``, ``grade``, ``changes``; presentation ``plots``, ``report``, ``wording``;
command line ``cli``. Shared by all: ``config``, ``tables``, ``provenance``.
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
