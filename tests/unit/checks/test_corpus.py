"""The checks' corpus (benchmarks/checks_corpus.py): every item's verdict is pinned.

Disguised leaks of a demo-like extract must block, each by the rule pinned
here; legitimate outputs (aggregates, means, regression and GWAS tables,
deciles, methods text, docs/examples' and ACRO-shaped outputs) must not block
at all. A change that moves any item is a change of the checks' behaviour:
update the pin only knowingly, and the reviewers' guide with it.
"""

from __future__ import annotations

import pytest

from benchmarks.checks_corpus import build_corpus
from egress_review.checks import run_checks

PINNED = {
    "renamed_columns.csv": ("row_level_data",),
    "shuffled_renamed.csv": ("row_level_data",),
    "renamed.tsv": ("row_level_data",),
    "renamed.parquet": ("row_level_data",),
    "renamed_table.md": ("row_level_data",),
    "person_renamed.csv": ("row_level_data",),
    "merged_tables_renamed.csv": ("row_level_data",),
    "transposed.csv": ("row_level_data",),
    "transposed_people.csv": ("row_level_data",),
    "transposed.parquet": ("row_level_data",),
    "transposed_records.json": ("row_level_data",),
    "records.json": ("row_level_data",),
    "object_of_arrays.json": ("row_level_data",),
    "pandas_columns.json": ("row_level_data",),
    "pandas_split.json": ("row_level_data",),
    "pandas_index.json": ("row_level_data",),
    "nested.json": ("row_level_data",),
    "json_lines.log": ("row_level_data",),
    "comma_lines.log": ("row_level_data",),
    "comma_lines.txt": ("row_level_data",),
    "key_value.log": ("row_level_data",),
    "printed_frame.txt": ("row_level_data",),
    "semicolons.txt": ("row_level_data",),
    "pipes.log": ("row_level_data",),
    "titled_table.txt": ("row_level_data",),
    "scattered_lines.log": ("row_level_data",),
    "diagnosis_pairs.csv": ("row_level_data",),
    "diagnosis_pairs.json": ("row_level_data",),
    "diagnosis_pairs_swapped.txt": ("row_level_data",),
    "date_townsend_pairs.csv": ("row_level_data",),
    "gzip_base64.txt": ("encoded_payloads",),
    "gzip_base64_wrapped.txt": ("encoded_payloads",),
    "zlib_base64_in_json.json": ("encoded_payloads",),
    "bz2_base64.txt": ("encoded_payloads",),
    "xz_base64.log": ("encoded_payloads",),
    "gzip_hex.txt": ("encoded_payloads",),
    "urlsafe_base64.md": ("encoded_payloads",),
    "plain_base64.txt": ("encoded_payloads",),
    "byte_list.txt": ("encoded_payloads",),
    "base64_cells.csv": ("encoded_payloads",),
    "png_text_payload.png": ("encoded_payloads",),
    "svg_text_payload.svg": ("encoded_payloads",),
    "pdf_payload.pdf": ("encoded_payloads",),
    "ascii85.txt": ("encoded_payloads",),
    "ids_hex.csv": ("participant_identifiers",),
    "ids_spaced.txt": ("participant_identifiers",),
    "ids_grouped.csv": ("participant_identifiers",),
    "ids_dashes.json": ("participant_identifiers",),
    "ids_shifted.csv": ("participant_identifiers",),
    "ids_scaled.csv": ("participant_identifiers",),
    "ids_reversed.txt": ("participant_identifiers",),
    "ids_shifted_lines.log": ("participant_identifiers",),
    "canaries_hex.txt": ("participant_identifiers",),
    "rows_with_ids.csv": ("participant_identifiers", "row_level_data"),
    "rows_with_ids.parquet": ("participant_identifiers", "row_level_data"),
    "counts_by_sex_centre.csv": (),
    "means_by_centre.csv": (),
    "means_by_age.csv": (),
    "sbp_by_sex_smoking.csv": (),
    "bmi_by_age_sex.csv": (),
    "regression.csv": (),
    "odds_ratios.tsv": (),
    "gwas_hits.csv": (),
    "gwas_top_variants.json": (),
    "deciles.csv": (),
    "diagnosis_counts.csv": (),
    "diagnoses_by_year.csv": (),
    "bmi_histogram.csv": (),
    "describe.md": (),
    "correlation.csv": (),
    "kaplan_meier.csv": (),
    "methods.md": (),
    "analysis_run.log": (),
    "model_metrics.json": (),
    "results.json": (),
    "output_0.csv": (),
    "output_1.txt": (),
    "figure.svg": (),
    "deciles.parquet": (),
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return build_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="module")
def verdicts(corpus):
    return {
        item.name: tuple(r.rule for r in run_checks(item.path, corpus.context) if r.verdict.blocks)
        for item in corpus.items
    }


def test_the_corpus_is_as_large_as_the_issue_asks(corpus):
    leaks = [i for i in corpus.items if i.leak]
    legitimate = [i for i in corpus.items if not i.leak]
    assert len(leaks) >= 40 and len(legitimate) >= 20
    assert {"renamed", "transposed", "json", "lines", "rare pairs", "encoded", "identifier forms"} <= {
        i.kind for i in leaks
    }
    assert {"docs/examples", "ACRO", "GWAS", "deciles", "methods text", "means by group"} <= {
        i.kind for i in legitimate
    }
    assert set(PINNED) == {i.name for i in corpus.items}


def test_every_verdict_is_the_pinned_one(verdicts):
    moved = {name: (PINNED[name], got) for name, got in verdicts.items() if got != PINNED[name]}
    assert not moved, moved


def test_every_leak_blocks_and_no_legitimate_output_does(corpus, verdicts):
    missed = [i.name for i in corpus.items if i.leak and not verdicts[i.name]]
    blocked = [i.name for i in corpus.items if not i.leak and verdicts[i.name]]
    leaks = sum(1 for i in corpus.items if i.leak)
    assert len(missed) <= 0.05 * leaks, missed
    assert not blocked, blocked


def test_the_corpus_is_deterministic(tmp_path, corpus):
    again = build_corpus(tmp_path)
    assert [(i.name, i.path.read_bytes()) for i in again.items] == [(i.name, i.path.read_bytes()) for i in corpus.items]
