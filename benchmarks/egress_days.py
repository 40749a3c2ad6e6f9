"""Days to take the demo project's extracts out through metered channels, at default settings.

Two answers, side by side:

- the budget model's own (enclave.egress.budgets): the information in the project's extracts,
  the per-person budget and the project's daily cap derived from it, and the days each allows;
- measured: the extracts printed by a kernel as base64 (64 KiB of stdout per kernel stream message,
  each message as the kernel websocket carries it), pushed through real MeteredStreams of an
  EgressMeter on the installation's state until the meter refuses. What got through in one UTC day,
  against what there was to send, is the number of days. Twice: the files as they are, and as an
  insider would send them, each compressed with xz first (preset 9, more than the model's 6), so
  that nothing compressible is left for the meter to discount. For the whole project, every member
  pushes a different part, in turn, until the project's cap refuses them all. The meter is never
  started, so nothing reaches the ledger or the audit log.

Both leave out a genotype extract's MatrixTable, which is imported from its VCF: the same
information twice (enclave/extracts/information.py). Sending it too would only take longer.
"""

from __future__ import annotations

import base64
import json
import lzma
import uuid
from pathlib import Path

from sqlalchemy import select

from enclave.cohort.genotypes import MATRIX_TABLE, VCF_FILE
from enclave.egress.budgets import budgets_of
from enclave.metering.information import ReceivedToday, StreamMeasure
from enclave.metering.meter import EgressMeter
from enclave.metering.report import readable
from enclave.state.models import DatasetExtract, Project

from .table import row

CHUNK_RAW = 48 * 1024  # bytes per kernel message: 64 KiB of base64
CHANNEL = "kernel"
INSIDER_PRESET = 9


def extract_files(ctx, project: str) -> list[Path]:
    """The regular files of the project's current extracts (what its workspaces mount), derived
    MatrixTables left out, in a fixed order."""
    with ctx.db.reading() as session:
        folders = sorted(
            Path(p)
            for p in session.execute(
                select(DatasetExtract.path)
                .join(Project, DatasetExtract.project_id == Project.id)
                .where(Project.name == project, DatasetExtract.removed_at.is_(None))
            ).scalars()
        )
    files = []
    for folder in folders:
        derived = folder / MATRIX_TABLE if (folder / VCF_FILE).is_file() else None
        files += [
            p
            for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.is_symlink() and not (derived is not None and p.is_relative_to(derived))
        ]
    return files


def as_they_are(files: list[Path]) -> list[bytes]:
    return [p.read_bytes() for p in files]


def compressed_first(files: list[Path]) -> list[bytes]:
    return [lzma.compress(p.read_bytes(), preset=INSIDER_PRESET) for p in files]


def kernel_messages(blobs: list[bytes]):
    """(bytes carried, the websocket message) for every piece, as print(base64) sends them."""
    session = uuid.uuid4().hex
    for data in blobs:
        for start in range(0, len(data), CHUNK_RAW):
            piece = data[start : start + CHUNK_RAW]
            message = {
                "header": {
                    "msg_id": uuid.uuid4().hex,
                    "session": session,
                    "msg_type": "stream",
                    "username": "analyst",
                    "version": "5.3",
                },
                "parent_header": {"msg_id": session},
                "metadata": {},
                "channel": "iopub",
                "content": {"name": "stdout", "text": base64.b64encode(piece).decode() + "\n"},
            }
            yield len(piece), json.dumps(message).encode()


def information_counted(blobs: list[bytes]) -> dict:
    """What the meter's information measure counts for all of it printed in one kernel stream."""
    measure, received = StreamMeasure(), ReceivedToday()
    counted = wire = carried = 0
    for size, message in kernel_messages(blobs):
        measured = measure.measure(message, received)
        received.remember(measured.new_digests)
        counted, wire, carried = counted + measured.counted, wire + measured.raw, carried + size
    return {"bytes": carried, "wire_bytes": wire, "counted_bytes": counted}


def pushed_until_refused(settings, db, people: list[str], project: str, blobs: list[bytes]) -> dict:
    """All of it through real MeteredStreams, one per person, taking turns message by message.

    Stops when the meter has refused every person (their budget or the project's cap is spent) or
    everything was sent; days = what there was to send / what got through.
    """
    meter = EgressMeter(settings, db=db)
    streams = {person: meter.stream(person, project, CHANNEL) for person in people}
    delivered = {person: 0 for person in people}
    refused: set[str] = set()
    messages = kernel_messages(blobs)
    total = sum(map(len, blobs))
    ended = False
    while len(refused) < len(people) and not ended:
        for person in people:
            if person in refused:
                continue
            size, message = next(messages, (0, None))
            if message is None:
                ended = True
                break
            if streams[person].send(message):
                delivered[person] += size
            else:
                refused.add(person)  # that message was not sent
    got = sum(delivered.values())
    return {
        "people": len(people),
        "bytes": total,
        "delivered_bytes": got,
        "per_person": delivered,
        "all_refused": len(refused) == len(people),
        "days": total / max(1, got),
    }


def budget_model(ctx, project: str) -> dict:
    """The budget model's figures for the project, at the installation's settings."""
    with ctx.db.reading() as session:
        budget = budgets_of(session, ctx.settings, {project})[project]
    return budget.as_dict() | {"days_person": budget.days_person, "days_project": budget.days_project}


def days_rows(result: dict) -> list[dict]:
    model = result.get("model")
    rows = []
    if model:
        rows += [
            row(
                "days: demo extracts out, one person (budget model)",
                model["days_person"],
                "days",
                ">= 30",
                note=f"extracts' information {readable(model['extract_bytes'])} (lzma), per-person budget "
                f"{readable(model['per_person'])}, days target {model['days_target']:g}",
            ),
            row(
                "days: demo extracts out, whole project (budget model)",
                model["days_project"],
                "days",
                ">= 30",
                note=f"project cap {readable(model['project_cap'])}" if model["project_cap"] else "no cap",
            ),
        ]
    for key, label in (("as_they_are", "files as they are"), ("compressed_first", "xz -9 first")):
        measured = result.get(key)
        if not measured:
            continue
        one, whole, info = measured["one_person"], measured.get("whole_project"), measured["information"]
        rows.append(
            row(
                f"days: measured, one person, {label}",
                one["days"],
                "days",
                ">= 30",
                note=f"{readable(one['bytes'])} to send, {readable(one['delivered_bytes'])} got through "
                f"a MeteredStream in a day; the meter counts {info['counted_bytes'] / info['bytes']:.3f} "
                f"per byte sent ({readable(info['wire_bytes'])} on the wire)",
            )
        )
        if whole:
            rows.append(
                row(
                    f"days: measured, whole project of {whole['people']}, {label}",
                    whole["days"],
                    "days",
                    ">= 30",
                    note=f"{readable(whole['delivered_bytes'])} got through in a day, all together",
                )
            )
    return rows
