"""The Docker engine the enclave runs on: its daemon configuration (daemon_config.py)."""
