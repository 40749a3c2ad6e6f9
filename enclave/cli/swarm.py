"""`enclave swarm up|down|status`: the hub in its container on a swarm manager, workspaces as services."""

from __future__ import annotations

from .context import operator_context


def _up(args):
    from ..swarm.deploy import swarm_up

    ctx = operator_context()
    hub = swarm_up(ctx.settings, publish_ip=args.publish_ip, advertise_addr=args.advertise_addr)
    if hub.paused_live_restore:
        details = {"live-restore": False, "reason": "swarm mode refuses live-restore", "until": "enclave swarm down"}
        ctx.audited("engine.configure", "docker-engine", lambda session: None, details)
        print(
            "Turned the engine's live-restore off (reloaded, nothing restarted): swarm mode refuses it. "
            "'enclave swarm down' turns it on again; until then an engine restart stops the workspaces."
        )
    if hub.created_swarm:
        print(
            f"This installation created the swarm (node {hub.node_id[:12]}, labelled for workspaces); "
            "'enclave swarm down' leaves it again."
        )
    else:
        print(f"Using this engine's swarm (node {hub.node_id[:12]}); 'enclave swarm down' will not leave it.")
    print(f"The hub runs in container {hub.container}. Log in at {hub.url}/hub/login")


def _down(args):
    from ..swarm.deploy import LIVE_RESTORE_BACK, swarm_down

    ctx = operator_context()
    removed = swarm_down(ctx.settings, leave=not args.keep_swarm)
    if LIVE_RESTORE_BACK in removed:
        details = {"live-restore": True, "reason": "left the swarm 'enclave swarm up' created"}
        ctx.audited("engine.configure", "docker-engine", lambda session: None, details)
    print(f"Removed: {', '.join(removed) or 'nothing (the hub was not running)'}. State is kept.")


def _status(args):
    import docker
    from docker.errors import NotFound

    from ..swarm.deploy import hub_container_name

    settings = operator_context().settings
    client = docker.from_env()
    swarm = client.info().get("Swarm") or {}
    print(f"Swarm: {swarm.get('LocalNodeState', 'inactive')} ({swarm.get('Nodes', 0)} nodes).")
    try:
        hub = client.containers.get(hub_container_name(settings.instance))
        print(f"Hub container {hub.name}: {hub.status}.")
    except NotFound:
        print("Hub container: none.")
        return 1
    for service in client.services.list(filters={"label": f"enclave.instance={settings.instance}"}):
        print(f"  workspace {service.name}")
    return 0 if hub.status == "running" else 1


def register_swarm(groups):
    parser = groups.add_parser("swarm", help="multi-host workspaces on a Docker swarm (docs/scaling.md)")
    sub = parser.add_subparsers(dest="action", required=True)
    p = sub.add_parser("up", help="create a single-node swarm if this engine is in none, start the hub container")
    p.add_argument("--publish-ip", default="0.0.0.0", help="host address the public port is published on")
    p.add_argument(
        "--advertise-addr",
        default="127.0.0.1",
        help="address other nodes reach this manager on, when a swarm is created (default: "
        "127.0.0.1, a single-node swarm)",
    )
    p.set_defaults(func=_up)
    p = sub.add_parser("down", help="remove the hub container, its workspaces and networks; keep all state")
    p.add_argument("--keep-swarm", action="store_true", help="do not leave a swarm that 'up' created")
    p.set_defaults(func=_down)
    p = sub.add_parser("status", help="the swarm, the hub container and the workspace services")
    p.set_defaults(func=_status)
