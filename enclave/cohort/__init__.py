"""A seeded synthetic cohort shaped like a biobank's, for demos and tests."""

from enclave.cohort.generate import CohortSummary, generate_cohort

__all__ = ["CohortSummary", "generate_cohort"]
