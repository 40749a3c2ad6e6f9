"""Driving a real JupyterHub over HTTP: the harness's client (harness/hub.py), shared with the benchmarks."""

from harness.hub import HubUser, trust, verify_for

__all__ = ["HubUser", "trust", "verify_for"]
