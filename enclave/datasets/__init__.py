"""Registered datasets: their files, manifests and approvals."""
