"""Per-project Spark standalone clusters (start, stop, status) for workspaces to join."""

from .cluster import ClusterSize, ClusterStatus, cluster_status, start_cluster, stop_cluster

__all__ = ["ClusterSize", "ClusterStatus", "cluster_status", "start_cluster", "stop_cluster"]
