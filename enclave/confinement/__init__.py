"""What confines every container that runs a project's code: workspaces (spawner/, swarm/) and Spark
nodes (spark/). The container settings both share (container.py), the seccomp profile (seccomp.py) and
the project's data they see read-only (mounts.py). Each kind of container's own settings stay with it:
spawner/hardening.py for a workspace, spark/nodes.py for a cluster node."""
