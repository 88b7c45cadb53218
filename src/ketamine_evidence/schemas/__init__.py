"""Table contracts (pandera schemas), one module per stage; imported by the pure core.

``records`` holds the columns of the search records and screening tables, ``extraction``
those of the curated sheets and of the effect tables derived from them. Schemas import
nothing from the package but its error classes and :mod:`ketamine_evidence.types` (the
coded values), so every stage may import them.
"""
