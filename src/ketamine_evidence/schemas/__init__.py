"""Table contracts (pandera schemas), one module per stage; imported by the pure core.

``records`` holds the columns of the search records and screening tables, ``extraction``
those of the curated sheets and of the effect tables derived from them. Stage: table
contracts. Schemas import nothing from the package but its error classes, ``tables`` (the
CSV reader) and ``types`` (the coded values), so every stage may import them.
"""
