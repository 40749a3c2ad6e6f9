"""Python packages without egress: an operator-curated index inside the enclave.

An operator allows a package (`enclave packages add NAME[==VERSION] [--project P]`): its wheels and
its dependencies' are fetched on the host (from the host's index, or a folder of wheels), hashed,
recorded in the state database and published in a folder per scope (all projects, or one). Each
project's index container (pypiserver, images/packages/) serves the installation's folder and its
project's, read-only, on the project network; workspaces reach its port and nothing else there.

- requirement.py: what an operator may write (NAME or NAME==VERSION).
- fetch.py: `pip download` on the host, wheels only, for the workspaces' Python.
- folders.py: the published folders, written and checked against the recorded hashes.
- allowlist.py: add, remove and list, each audited.
- index.py: the index container of a project, and its firewall rules.
"""

from .allowlist import AllowedEntry, add_package, list_packages, remove_package
from .requirement import PackageRequirement, parse_requirement

__all__ = [
    "AllowedEntry",
    "PackageRequirement",
    "add_package",
    "list_packages",
    "parse_requirement",
    "remove_package",
]
