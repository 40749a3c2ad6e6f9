"""`enclave egress-usage`, `enclave user suspend|resume` and `enclave project budget`."""

from __future__ import annotations

import asyncio
import json

import pytest

from enclave.cli.main import main
from enclave.metering import EgressMeter
from enclave.metering.report import readable
from enclave.settings import EnclaveSettings


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    monkeypatch.setenv("ENCLAVE_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("ENCLAVE_HUB_INTERNAL_PORT", "1")
    monkeypatch.setattr("os.chown", lambda *a, **k: None)
    stopped = []
    monkeypatch.setattr(
        "enclave.hub.workspaces.HubWorkspaces.stop",
        lambda self, project, user=None: stopped.append((project, user)) or [],
    )
    for argv in (
        ["init"],
        ["project", "create", "alpha"],
        ["project", "create", "beta"],
        ["user", "add", "alice", "--role", "analyst"],
        ["user", "add", "bob", "--role", "analyst"],
        ["member", "add", "alpha", "alice"],
        ["member", "add", "beta", "alice"],
        ["member", "add", "alpha", "bob"],
    ):
        assert main(argv) == 0
    return stopped


def send(*counts):
    async def run():
        meter = EgressMeter(EnclaveSettings())
        for user, project, nbytes, channel in counts:
            meter.count(user, project, nbytes, channel)
        await meter.close()

    asyncio.run(run())


def test_egress_usage_table_is_sorted_by_total_with_channels_budget_and_percent(cli_env, capsys):
    for project in ("alpha", "beta"):
        assert main(["project", "budget", project, "--daily-mb", "64", "--project-mb", "128"]) == 0
    send(
        ("bob", "alpha", 3 * 1024 * 1024, "kernel"),
        ("alice", "alpha", 1536, "terminal"),
        ("alice", "alpha", 100, "contents"),
        ("alice", "beta", 10 * 1024 * 1024, "app"),
    )
    capsys.readouterr()
    assert main(["egress-usage"]) == 0
    out = capsys.readouterr().out.splitlines()
    people = out[out.index("Per person, counted (the information received), largest first:") + 1 :]
    assert people[0].split() == [
        "USER",
        "PROJECT",
        "KERNEL",
        "TERMINAL",
        "CONTENTS",
        "APP",
        "COUNTED",
        "RAW",
        "BUDGET",
        "USED",
        "ACCOUNT",
    ]  # only the channels that carried something
    assert [line.split()[:2] for line in people[1:]] == [["alice", "beta"], ["bob", "alpha"], ["alice", "alpha"]]
    assert "10.0 MiB  10.0 MiB  64.0 MiB  15.6%  active" in people[1]
    assert "1.5 KiB" in people[3] and "100 B" in people[3] and "1.6 KiB" in people[3]
    projects = [line.split() for line in out[1:4]]
    assert projects[0][:3] == ["PROJECT", "EXTRACTS", "DAYS-TARGET"]
    assert projects[1][0] == "alpha" and "3.0 MiB" in out[2] and "2.3%" in out[2]  # of the 128 MiB cap


def test_egress_usage_filters_and_json(cli_env, capsys):
    send(("bob", "alpha", 2048, "kernel"), ("alice", "alpha", 1024, "terminal"))
    capsys.readouterr()
    assert main(["egress-usage", "--user", "alice", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    (line,) = report["people"]
    assert line["user"] == "alice" and line["channels"] == {"terminal": 1024}
    assert line["total"] == line["raw"] == 1024 and line["budget"] == 1024 * 1024  # no extracts: the floor
    alpha = next(p for p in report["projects"] if p["project"] == "alpha")
    assert alpha["total"] == 3072 and alpha["per_person"] == alpha["project_cap"] == 1024 * 1024
    assert alpha["extract_bytes"] == 0 and alpha["days_target"] == 30 and alpha["days_person"] == 0
    assert main(["egress-usage", "--project", "beta"]) == 0
    assert "No data-bearing traffic metered" in capsys.readouterr().out
    assert main(["egress-usage", "--day", "2020-01-01", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["people"] == []


def test_egress_usage_rejects_a_malformed_day(cli_env, capsys):
    assert main(["egress-usage", "--day", "21/11/2026"]) == 3
    assert "YYYY-MM-DD" in capsys.readouterr().err


def test_project_budget_override_shows_in_usage_and_back_to_default(cli_env, capsys):
    assert main(["project", "budget", "alpha", "--daily-mb", "2"]) == 0
    out = capsys.readouterr().out
    assert "per person:   2.0 MiB a UTC day (set for the project)" in out
    assert "all members:  2.0 MiB a UTC day (derived)" in out
    send(("alice", "alpha", 512 * 1024, "kernel"))
    assert main(["egress-usage", "--json"]) == 0
    (line,) = json.loads(capsys.readouterr().out)["people"]
    assert line["budget"] == 2 * 1024 * 1024 and line["percent"] == 25.0
    assert main(["project", "budget", "alpha", "--project-mb", "3", "--days", "60", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["per_person"], shown["project_cap"], shown["days_target"]) == (2 * 1024 * 1024, 3 * 1024 * 1024, 60)
    assert shown["fixed"] == ["person", "project", "days"]
    assert main(["project", "budget", "alpha", "--default"]) == 0
    assert "per person:   1.0 MiB a UTC day (derived)" in capsys.readouterr().out
    assert main(["project", "budget", "alpha"]) == 0  # no flags: show
    assert "days target 30 (derived)" in capsys.readouterr().out
    assert main(["project", "budget", "alpha", "--daily-mb", "0"]) == 3
    assert "positive" in capsys.readouterr().err
    assert main(["project", "budget", "alpha", "--default", "--days", "40"]) == 3
    assert "either --default" in capsys.readouterr().err
    assert main(["project", "budget", "ghost", "--daily-mb", "1"]) == 3
    assert main(["project", "budget", "ghost"]) == 3


def test_user_suspend_and_resume(cli_env, capsys):
    assert main(["user", "suspend", "alice", "--reason", "asked by the data owner"]) == 0
    assert sorted(cli_env) == [("alpha", "alice"), ("beta", "alice")]
    assert main(["user", "list"]) == 0
    assert "alice  suspended" in capsys.readouterr().out
    assert main(["user", "suspend", "alice"]) == 3
    assert "only an active account" in capsys.readouterr().err
    assert main(["member", "add", "beta", "bob"]) == 0
    assert main(["user", "resume", "alice"]) == 0
    assert "raise the project's budget" in capsys.readouterr().out
    assert main(["user", "resume", "alice"]) == 3
    assert "not suspended" in capsys.readouterr().err
    assert main(["audit", "show", "--action", "person."]) == 0
    shown = capsys.readouterr().out
    assert "person.suspended" in shown and "asked by the data owner" in shown and "person.resumed" in shown


def test_readable_units():
    assert [readable(n) for n in (0, 1023, 1024, 1536, 64 * 1024 * 1024, 3 * 1024**3)] == [
        "0 B",
        "1023 B",
        "1.0 KiB",
        "1.5 KiB",
        "64.0 MiB",
        "3.0 GiB",
    ]


def test_project_budget_refuses_a_days_target_below_one_day(cli_env, capsys):
    assert main(["project", "budget", "alpha", "--days", "0.5"]) == 3
    assert "at least 1 day" in capsys.readouterr().err
