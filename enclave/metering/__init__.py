"""Metering of data-bearing traffic from workspaces to browsers, with daily budgets.

The edge (enclave.edge), outside every container, counts what it relays to a
browser with `EgressMeter.count`; crossing half the budget raises an alert,
crossing all of it stops the flow at once, then stops the workspace and
suspends the person for an operator to decide.
"""

from .meter import CHANNELS, EgressMeter

__all__ = ["CHANNELS", "EgressMeter"]
