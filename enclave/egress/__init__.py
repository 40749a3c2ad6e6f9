"""What egress is counted in and against, below the operator actions that set it and the meter that
applies it: the channels, pseudo-projects and recipient headers the edge, the hub and the meter name
(channels.py), and each project's daily budgets sized to the information in its extracts (budgets.py).
The running meter is enclave.metering; an extract's information is measured when it is written
(enclave.extracts.information)."""
