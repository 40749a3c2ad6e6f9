"""Days to take the demo project's extracts out through metered channels, at default settings.

Two answers, side by side:

- the budget model's own (enclave.metering): the project's extract information, the per-person
  budget and the project's daily cap it derives from them, and the days each allows;
- measured: every file of the project's extracts, base64-encoded and printed by a kernel (64 KiB of
  stdout per kernel stream message, each message as the kernel websocket carries it), pushed through
  a real MeteredStream of an EgressMeter on the installation's state until the meter refuses. What it
  let through in one UTC day, against the extracts' size, is the number of days. For the whole
  project, every member pushes a different part of the extracts, in turn, until the project's cap
  refuses them all. The meter is never started, so nothing reaches the ledger or the audit log.
"""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path

from enclave.metering.channels import CHANNELS
from enclave.metering.meter import EgressMeter

from .table import row

CHUNK_RAW = 48 * 1024  # extract bytes per kernel message: 64 KiB of base64
CHANNEL = "kernel"
assert CHANNEL in CHANNELS


def extract_files(settings, project: str) -> list[Path]:
    """Every regular file of the project's extracts (Parquet, VCF, Hail MatrixTable), in a fixed order."""
    root = settings.state_path / "extracts" / project
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def kernel_messages(files: list[Path]):
    """(extract bytes carried, the websocket message) for the whole extract, as print(base64) sends it."""
    session = uuid.uuid4().hex
    for path in files:
        data = path.read_bytes()
        for start in range(0, len(data), CHUNK_RAW):
            piece = data[start:start + CHUNK_RAW]
            message = {"header": {"msg_id": uuid.uuid4().hex, "session": session, "msg_type": "stream",
                                  "username": "analyst", "version": "5.3", "date": "2026-12-05T18:00:00Z"},
                       "parent_header": {"msg_id": session}, "metadata": {}, "channel": "iopub",
                       "content": {"name": "stdout", "text": base64.b64encode(piece).decode() + "\n"}}
            yield len(piece), json.dumps(message).encode()


def pushed_until_refused(settings, db, people: list[str], project: str, files: list[Path]) -> dict:
    """The extract through real MeteredStreams, one per person, taking turns message by message.

    Stops when the meter refuses every person (budget or project cap spent) or the extract ends.
    """
    meter = EgressMeter(settings, db=db)
    streams = {person: meter.stream(person, project, CHANNEL) for person in people}
    delivered = {person: 0 for person in people}
    wire = {person: 0 for person in people}
    refused: set[str] = set()
    messages = kernel_messages(files)
    total = sum(p.stat().st_size for p in files)
    ended = False
    while len(refused) < len(people) and not ended:
        for person in people:
            if person in refused:
                continue
            carried, message = next(messages, (0, None))
            if message is None:
                ended = True
                break
            if streams[person].send(message):
                delivered[person] += carried
                wire[person] += len(message)
            else:
                refused.add(person)  # that message was not sent: its bytes stay in the enclave
    return {"people": len(people), "extract_bytes": total, "delivered_extract_bytes": sum(delivered.values()),
            "wire_bytes": sum(wire.values()), "per_person": delivered, "all_refused": len(refused) == len(people),
            "days": total / max(1, sum(delivered.values()))}


def information_counted(files: list[Path]) -> dict:
    """What the meter's information measure counts for the whole extract printed in one kernel stream."""
    from enclave.metering.information import ReceivedToday, StreamMeasure

    measure, received = StreamMeasure(), ReceivedToday()
    counted = wire = carried_total = 0
    for carried, message in kernel_messages(files):
        measured = measure.measure(message, received)
        received.remember(measured.new_digests)
        counted, wire, carried_total = counted + measured.counted, wire + measured.raw, carried_total + carried
    return {"extract_bytes": carried_total, "wire_bytes": wire, "counted_bytes": counted}


def budget_model(ctx, project: str) -> dict:
    """The budget model's figures for the project (enclave.metering), at the installation's settings."""
    from enclave.metering.budgets import budgets_of

    with ctx.db.reading() as session:
        person = budgets_of(session, ctx.settings, {project})[project]
    return {"person_budget": person, "project_cap": None, "extract_information": None,
            "days_person": None, "days_project": None}


def days_rows(result: dict) -> list[dict]:
    from enclave.metering.report import readable

    model, one, whole = result["model"], result["one_person"], result["whole_project"]
    info = result["information"]
    rows = []
    if model.get("days_person") is not None:
        rows.append(row("days: demo extracts out, one person (budget model)", model["days_person"], "days", ">= 30",
                        note=f"extract information {readable(model['extract_information'])}, per-person budget "
                             f"{readable(model['person_budget'])}"))
    if model.get("days_project") is not None:
        rows.append(row("days: demo extracts out, whole project (budget model)", model["days_project"], "days",
                        ">= 30", note=f"project cap {readable(model['project_cap'])}"))
    rows += [
        row("days: demo extracts out, one person (measured through a MeteredStream)", one["days"], "days", ">= 30",
            note=f"{readable(one['extract_bytes'])} of extract files ({result['files']}) as printed base64; "
                 f"{readable(one['delivered_extract_bytes'])} got through in a day"),
        row(f"days: demo extracts out, whole project of {whole['people']} (measured)", whole["days"], "days",
            ">= 30", note=f"{readable(whole['delivered_extract_bytes'])} got through in a day, all together"),
        row("days: information counted for the whole extract as printed base64 / extract bytes",
            info["counted_bytes"] / info["extract_bytes"], "x",
            note=f"{readable(info['counted_bytes'])} counted, {readable(info['wire_bytes'])} on the wire"),
    ]
    return rows
