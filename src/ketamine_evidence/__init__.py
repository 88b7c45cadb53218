"""ketamine-evidence: a living, reproducible evidence synthesis of ketamine for PTSD.

The package has a pure core (``effects``, ``meta``, ``claims``, ...) that does no IO,
and thin adapters (``sources`` for the network, ``io`` for files, ``plots``, ``report``).
"""

__version__ = "0.1.0"


class KetamineEvidenceWarning(UserWarning):
    """Base class for data-dependent warnings raised by this package."""
