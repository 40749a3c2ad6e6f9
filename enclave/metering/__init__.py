"""Metering of data-bearing traffic from workspaces to browsers, with daily budgets.

The edge (enclave.edge), outside every container, sends what it relays to a
browser through `EgressMeter.stream(user, project, channel).send(data)`, which
counts the information the bytes carry for that person (information.py);
crossing half the budget raises an alert,
crossing all of it stops the flow at once, then stops the workspace and
suspends the person for an operator to decide.
"""

from .journal import CountJournal
from .meter import CHANNELS, EgressMeter, MeteredStream

__all__ = ["CHANNELS", "CountJournal", "EgressMeter", "MeteredStream"]
