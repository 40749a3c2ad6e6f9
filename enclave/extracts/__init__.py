"""Per-project extracts: approved fields only, project-specific pseudonyms and canary participants.

keys.py holds the installation's secret key, pseudonyms.py turns identifiers
into a project's pseudonyms, materialise.py writes an extract (genotypes.py
its VCF and MatrixTable, for a genotype dataset), store.py
records it and trace.py finds the project a leaked file came from.
"""
