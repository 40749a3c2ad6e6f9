"""The hub gate: workspaces reach only what a single-user server needs of the hub (see gate.py, policy.py)."""
