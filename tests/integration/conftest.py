"""The integration tests' workspaces (alice_alpha, carol_alpha, bob_beta) are shared with the browser
tests: they are defined once, in tests/support/workspaces.py, registered in tests/conftest.py."""
