"""The workspaces' seccomp profile (enclave/confinement/seccomp.py): Docker's default less the reach into others.

A real kernel in a real workspace tries each removed call in tests/integration/security/test_server_subversion.py.
"""

import json

import pytest
from dockerspawner import DockerSpawner

from enclave.confinement import seccomp

# The calls that reach into another process of the same uid, and io_uring (see the module's reasons).
MUST_BE_ABSENT = {
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "pidfd_getfd",
    "kcmp",
    "process_madvise",
    "perf_event_open",
    "bpf",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
}


def _load(path) -> dict:
    return json.loads(path.read_text())


def _pairs(profile: dict) -> list[tuple[str, str]]:
    """(syscall, the rest of its rule) for every name of every rule, in order."""
    return [
        (name, json.dumps({k: v for k, v in rule.items() if k != "names"}, sort_keys=True))
        for rule in profile["syscalls"]
        for name in rule["names"]
    ]


def test_the_shipped_default_is_dockers_own_for_engine_20_10():
    default = _load(seccomp.DEFAULT_PROFILE)
    assert default["defaultAction"] == "SCMP_ACT_ERRNO"
    # 20.10's default admits ptrace on kernels >= 4.8: the reason this profile exists.
    assert any("ptrace" in r["names"] and r["includes"] == {"minKernel": "4.8"} for r in default["syscalls"])


def test_the_shipped_profile_is_exactly_what_the_module_derives():
    shipped = seccomp.WORKSPACE_PROFILE.read_text()
    assert shipped == seccomp.render(seccomp.derive(_load(seccomp.DEFAULT_PROFILE))), (
        "regenerate it: .venv/bin/python -m enclave.confinement.seccomp"
    )


def test_the_removed_calls_are_admitted_by_no_rule():
    profile = _load(seccomp.WORKSPACE_PROFILE)
    assert set(seccomp.REMOVED) == MUST_BE_ABSENT
    assert not {name for name, _ in _pairs(profile)} & MUST_BE_ABSENT
    # ...and each has its reason written next to it.
    assert all(len(reason) > 10 for reason in seccomp.REMOVED.values())


def test_everything_else_is_the_default_unchanged():
    default, profile = _load(seccomp.DEFAULT_PROFILE), _load(seccomp.WORKSPACE_PROFILE)
    assert {k: v for k, v in profile.items() if k != "syscalls"} == {
        k: v for k, v in default.items() if k != "syscalls"
    }
    assert _pairs(profile) == [pair for pair in _pairs(default) if pair[0] not in MUST_BE_ABSENT]
    # Normal work: process, file, socket and signal calls stay.
    allowed = {name for name, _ in _pairs(profile)}
    assert {"clone", "execve", "openat", "connect", "kill", "pidfd_open", "prctl", "futex"} <= allowed


def test_a_hand_edited_profile_that_admits_a_removed_call_refuses_every_spawn(tmp_path, monkeypatch):
    weakened = _load(seccomp.WORKSPACE_PROFILE)
    weakened["syscalls"].append({"names": ["ptrace"], "action": "SCMP_ACT_ALLOW", "args": []})
    path = tmp_path / "profile.json"
    path.write_text(json.dumps(weakened))
    monkeypatch.setattr(seccomp, "WORKSPACE_PROFILE", path)
    seccomp.security_opt.cache_clear()
    try:
        with pytest.raises(RuntimeError, match=r"admits \['ptrace'\].*regenerate"):
            seccomp.security_opt()
    finally:
        seccomp.security_opt.cache_clear()


def test_the_security_option_carries_the_profile_itself():
    option = seccomp.security_opt()
    assert option.startswith("seccomp=")
    assert json.loads(option.removeprefix("seccomp=")) == _load(seccomp.WORKSPACE_PROFILE)


class _Spawner:
    """Just enough of a DockerSpawner to run its template rendering."""

    def _render_templates(self, obj, ns=None):
        return DockerSpawner._render_templates(self, obj, ns)


def test_the_profile_survives_dockerspawners_template_formatting():
    # DockerSpawner runs str.format over every string of extra_host_config; the JSON is full of braces.
    option = seccomp.security_opt()
    rendered = _Spawner()._render_templates({"security_opt": [option]}, ns={"username": "alice"})
    assert rendered["security_opt"] == [option]
