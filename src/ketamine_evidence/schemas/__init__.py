"""Table contracts (pandera schemas), one module per stage; imported by the pure core."""
