"""Everything the enclave does with its airlock (egress_review), through the airlock's one published module.

Only this package imports the airlock, and only ``egress_review.integration`` (import contracts in
pyproject.toml): ``service`` registers it as the hub's managed service and names the enclave's
implementations of the airlock's protocols, ``directory`` (its view of projects) and ``forwarding`` (its
audit entries into the enclave's one log); ``verify`` checks that log against the airlock's; ``sketches``
writes the cohort sketches the airlock's row-level check reads.
"""
