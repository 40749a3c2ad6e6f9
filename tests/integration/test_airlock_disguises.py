"""Disguised leaks from a real workspace are blocked by the airlock's checks (issue 14).

Alice's real workspace reads its project's real extract (pseudonyms, canaries) and dresses rows
and identifiers up: columns renamed and transposed, rows as JSON records and as log lines, the
table gzip-compressed and base64-encoded, pseudonyms in hexadecimal and shifted by a constant.
Each is blocked by the rule that sees through its disguise; an aggregate of the same data is not.
The extract's sketches (which the row-level check matches values against) sit beside the extract
on the host, not in the workspace.
"""

from tests.support.airlock import AirlockClient

OUTBOX = "/home/analyst/outbox/disguises"
WRITE = f"""
import base64, gzip, json, os
import polars as pl
os.makedirs({OUTBOX!r}, exist_ok=True)
base = pl.read_parquet('/data/cohort/v1/baseline.parquet').drop_nulls().head(25)
rows = base.select('height_cm', 'weight_kg', 'bmi', 'systolic_bp', 'ldl_cholesterol')
renamed = rows.rename({{'height_cm': 'a', 'weight_kg': 'b', 'bmi': 'c', 'systolic_bp': 'd', 'ldl_cholesterol': 'e'}})
renamed.select('e', 'c', 'a', 'd', 'b').write_csv({OUTBOX!r} + '/renamed.csv')
renamed.cast(pl.String).transpose(include_header=True).write_csv({OUTBOX!r} + '/transposed.csv')
open({OUTBOX!r} + '/records.json', 'w').write(json.dumps(renamed.to_dicts()))
open({OUTBOX!r} + '/run.log', 'w').write(''.join(f'12:00:{{i:02d}} INFO row {{",".join(map(str, r))}}\\n'
                                                 for i, r in enumerate(renamed.rows())))
packed = gzip.compress(pl.read_parquet('/data/cohort/v1/baseline.parquet').head(500).write_csv().encode())
open({OUTBOX!r} + '/notes.txt', 'w').write(base64.b64encode(packed).decode())
ids = base['participant_id'].to_list()[:10]
open({OUTBOX!r} + '/refs_hex.csv', 'w').write(
    'ref,k\\n' + ''.join(f'{{hex(i)}},{{k}}\\n' for k, i in enumerate(ids)))
open({OUTBOX!r} + '/refs_shifted.csv', 'w').write(
    'ref,k\\n' + ''.join(f'{{i + 777}},{{k}}\\n' for k, i in enumerate(ids)))
people = pl.read_parquet('/data/cohort/v1/participants.parquet').join(
    pl.read_parquet('/data/cohort/v1/baseline.parquet'), on='participant_id')
people.group_by('sex').agg(pl.len().alias('n'), pl.col('bmi').mean().round(1).alias('mean_bmi')).sort('sex') \\
    .write_csv({OUTBOX!r} + '/aggregate.csv')
print(sorted(os.listdir('/data/cohort')))
"""
EXPECTED = {
    "renamed.csv": "row_level_data",
    "transposed.csv": "row_level_data",
    "records.json": "row_level_data",
    "run.log": "row_level_data",
    "notes.txt": "encoded_payloads",
    "refs_hex.csv": "participant_identifiers",
    "refs_shifted.csv": "participant_identifiers",
}


def test_disguised_rows_payloads_and_identifiers_are_blocked_and_an_aggregate_is_not(enclave, alice_alpha):
    listing = alice_alpha.run(WRITE)
    assert listing.strip().splitlines()[-1] == "['v1']"  # the sketches are not in the workspace
    alice = AirlockClient.through_hub(enclave, "alice", timeout=300)
    rid = alice.ok("POST", "api/requests", json={"project": "alpha", "title": "disguises"})["id"]
    alice.ok("POST", f"api/requests/{rid}/groups", json={"name": "g", "context": "results", "controls": "none"})
    for name in [*EXPECTED, "aggregate.csv"]:
        alice.ok("POST", f"api/requests/{rid}/files", json={"path": f"disguises/{name}", "group": "g"})
    detail = alice.ok("POST", f"api/requests/{rid}/submit")
    staged = {f["path"].rsplit("/", 1)[-1]: f for f in detail["staged_files"]}
    for name, rule in EXPECTED.items():
        verdicts = {c["rule"]: c["verdict"] for c in staged[name]["checks"]}
        assert staged[name]["blocked"] and verdicts[rule] == "block", (name, verdicts)
        version = {c["rule"]: c["version"] for c in staged[name]["checks"]}[rule]
        assert version == ("1" if rule == "encoded_payloads" else "2")
    aggregate = {c["rule"]: c["verdict"] for c in staged["aggregate.csv"]["checks"]}
    assert not staged["aggregate.csv"]["blocked"], aggregate
    assert aggregate["row_level_data"] == "pass" and aggregate["encoded_payloads"] == "pass"
    alice.ok("POST", f"api/requests/{rid}/withdraw")  # not left open: alice's open requests are limited
