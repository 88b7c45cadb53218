"""Network adapters: the only code in the package that talks to PubMed or ClinicalTrials.gov."""
