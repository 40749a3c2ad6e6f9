"""Jupyter's routes that hand file bytes to a browser, closed at the edge whatever the workspace says.

A fact both the settings (an app an operator declares may not take one of these names) and the edge's
policy (enclave/edge/policy.py) need, so it sits below both.
"""

CLOSED_ROUTES = frozenset({"files", "view", "nbconvert", "proxy", "kernelspecs", "edit"})
