"""`enclave spark start|stop|status PROJECT`: a project's Spark standalone cluster."""

from __future__ import annotations

from .context import operator_context


def _start(args):
    from ..spark import ClusterSize, start_cluster

    size = ClusterSize(workers=args.workers, worker_cores=args.worker_cores, worker_memory=args.worker_memory)
    status = start_cluster(operator_context(), args.project, size)
    print(f"Spark cluster of {args.project}: {len(status.nodes)} nodes on network {status.network}.")
    print(
        f"Workspaces started from now on join it and find it in $SPARK_MASTER_URL ({status.master_url}); "
        "running workspaces join at their next start."
    )


def _stop(args):
    from ..spark import stop_cluster

    removed = stop_cluster(operator_context(), args.project)
    print(f"Stopped the Spark cluster of {args.project}: removed {', '.join(removed) or 'nothing (none was running)'}.")


def _status(args):
    import docker

    from ..spark import cluster_status

    ctx = operator_context()
    status = cluster_status(docker.from_env(), ctx.settings.instance, args.project)
    if status is None:
        print(f"Project {args.project} has no Spark cluster.")
        return 1
    print(f"Spark cluster of {args.project} ({status.master_url}), network {status.network}:")
    for node in status.nodes:
        print(f"  {node.role:7} {node.container:50} {node.address:16} {node.status}")
    return 0 if status.running else 1


def register_spark(groups):
    parser = groups.add_parser("spark", help="a project's Spark standalone cluster")
    sub = parser.add_subparsers(dest="action", required=True)
    p = sub.add_parser("start", help="start a master and workers on the project's cluster network")
    p.add_argument("project")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--worker-cores", type=int, default=1)
    p.add_argument("--worker-memory", default="1g", help="memory each worker offers executors, e.g. 2g")
    p.set_defaults(func=_start)
    p = sub.add_parser("stop", help="stop and remove the project's cluster")
    p.add_argument("project")
    p.set_defaults(func=_stop)
    p = sub.add_parser("status", help="show the project's cluster (exit 1 if none or not all running)")
    p.add_argument("project")
    p.set_defaults(func=_status)
