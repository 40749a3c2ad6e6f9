"""Checksum manifests: computed from a folder, round-tripped, and used to detect tampering."""

from __future__ import annotations

import hashlib
import json
import os
import socket

import pytest

from enclave.datasets import manifest as manifest_module
from enclave.datasets.manifest import (
    Manifest,
    ManifestEntry,
    ManifestError,
    Mismatch,
    compute_manifest,
    verify_manifest,
)

CONTENT = {
    "participants.parquet": b"participant rows",
    "baseline.parquet": b"baseline rows" * 100,
    "diagnoses/2024.parquet": b"diagnoses 2024",
    "diagnoses/2025.parquet": b"diagnoses 2025",
    "README.txt": b"",
}


def make_dataset(folder, files=CONTENT, order=None):
    folder.mkdir(parents=True, exist_ok=True)
    for name in order or files:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(files[name])
    return folder


@pytest.fixture
def dataset(tmp_path):
    return make_dataset(tmp_path / "dataset")


def test_entries_are_sorted_posix_paths_with_sizes_and_hashes(dataset):
    manifest = compute_manifest(dataset)
    assert [entry.path for entry in manifest.entries] == sorted(CONTENT)
    for entry in manifest.entries:
        assert entry.size == len(CONTENT[entry.path])
        assert entry.sha256 == hashlib.sha256(CONTENT[entry.path]).hexdigest()
    assert manifest.file_count == len(CONTENT)
    assert manifest.total_bytes == sum(len(data) for data in CONTENT.values())


def test_files_larger_than_one_chunk_hash_correctly(tmp_path):
    data = os.urandom(3 * manifest_module.CHUNK_BYTES + 7)
    exact = os.urandom(manifest_module.CHUNK_BYTES)
    folder = make_dataset(tmp_path / "big", {"big.bin": data, "exact.bin": exact})
    entries = {entry.path: entry for entry in compute_manifest(folder).entries}
    assert entries["big.bin"].sha256 == hashlib.sha256(data).hexdigest()
    assert entries["big.bin"].size == len(data)
    assert entries["exact.bin"].sha256 == hashlib.sha256(exact).hexdigest()


def test_json_round_trips_and_is_canonical(dataset):
    manifest = compute_manifest(dataset)
    text = manifest.to_json()
    again = Manifest.from_json(text)
    assert again == manifest
    assert again.digest == manifest.digest
    assert again.to_json() == text
    data = json.loads(text)
    assert text == json.dumps(data, sort_keys=True, separators=(",", ":"))
    assert data["format"] == 1


def test_digest_is_the_hash_of_the_canonical_entries(dataset):
    manifest = compute_manifest(dataset)
    entries = json.loads(manifest.to_json())["entries"]
    canonical = json.dumps(entries, sort_keys=True, separators=(",", ":")).encode()
    assert manifest.digest == hashlib.sha256(canonical).hexdigest()


def test_digest_does_not_depend_on_file_creation_order(tmp_path):
    first = compute_manifest(make_dataset(tmp_path / "a", order=sorted(CONTENT)))
    second = compute_manifest(make_dataset(tmp_path / "b", order=sorted(CONTENT, reverse=True)))
    assert first.digest == second.digest
    assert first.to_json() == second.to_json()


def test_digest_changes_when_any_byte_changes(tmp_path):
    before = compute_manifest(make_dataset(tmp_path / "a"))
    changed = dict(CONTENT, **{"participants.parquet": b"participant rowz"})
    after = compute_manifest(make_dataset(tmp_path / "b", changed))
    assert before.digest != after.digest


def test_verify_accepts_an_untouched_folder(dataset):
    assert verify_manifest(dataset, compute_manifest(dataset)) == []


def test_verify_reports_same_size_content_change(dataset):
    manifest = compute_manifest(dataset)
    (dataset / "participants.parquet").write_bytes(b"participant rowz")
    assert verify_manifest(dataset, manifest) == [
        Mismatch(
            "participants.parquet",
            "changed",
            "participants.parquet: content differs from the manifest (sha256 "
            + hashlib.sha256(b"participant rowz").hexdigest()
            + ")",
        )
    ]


def test_verify_reports_size_change_without_hashing(dataset, monkeypatch):
    manifest = compute_manifest(dataset)
    (dataset / "baseline.parquet").write_bytes(b"short")
    hashed = []
    real_hash = manifest_module._hash_file
    monkeypatch.setattr(manifest_module, "_hash_file", lambda *args: hashed.append(args[1]) or real_hash(*args))
    [mismatch] = verify_manifest(dataset, manifest)
    assert (mismatch.path, mismatch.kind) == ("baseline.parquet", "changed")
    assert "5 bytes" in mismatch.message
    assert "baseline.parquet" not in hashed
    assert sorted(hashed) == sorted(set(CONTENT) - {"baseline.parquet"})


def test_verify_reports_missing_and_unexpected_files(dataset):
    manifest = compute_manifest(dataset)
    (dataset / "diagnoses" / "2024.parquet").unlink()
    (dataset / "extra.csv").write_text("leaked,rows\n")
    (dataset / "new").mkdir()
    (dataset / "new" / "deep.txt").write_text("x")
    result = [(m.path, m.kind) for m in verify_manifest(dataset, manifest)]
    assert result == [
        ("diagnoses/2024.parquet", "missing"),
        ("extra.csv", "unexpected"),
        ("new/deep.txt", "unexpected"),
    ]


def test_verify_reports_a_file_replaced_by_a_symlink(dataset, tmp_path):
    manifest = compute_manifest(dataset)
    outside = tmp_path / "outside.parquet"
    outside.write_bytes(CONTENT["participants.parquet"])
    (dataset / "participants.parquet").unlink()
    (dataset / "participants.parquet").symlink_to(outside)
    (dataset / "link").symlink_to(tmp_path)
    result = [(m.path, m.kind) for m in verify_manifest(dataset, manifest)]
    assert result == [("link", "unexpected"), ("participants.parquet", "changed")]


def test_verify_refuses_a_missing_folder(dataset, tmp_path):
    manifest = compute_manifest(dataset)
    with pytest.raises(ManifestError, match="does not exist"):
        verify_manifest(tmp_path / "gone", manifest)


def test_refuses_a_folder_that_does_not_exist(tmp_path):
    with pytest.raises(ManifestError, match="does not exist"):
        compute_manifest(tmp_path / "nope")


def test_refuses_a_file_instead_of_a_folder(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ManifestError, match="not a folder"):
        compute_manifest(tmp_path / "file")


def test_refuses_an_empty_folder_even_with_empty_subfolders(tmp_path):
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    with pytest.raises(ManifestError, match="holds no files"):
        compute_manifest(tmp_path / "empty")


@pytest.mark.parametrize("where", ["top.link", "diagnoses/nested.link"])
def test_refuses_a_symlink_anywhere_in_the_folder(dataset, tmp_path, where):
    (dataset / where).symlink_to(dataset / "participants.parquet")
    with pytest.raises(ManifestError, match=f"{where} is a symlink"):
        compute_manifest(dataset)


def test_refuses_a_symlink_to_a_folder_without_following_it(dataset, tmp_path):
    elsewhere = make_dataset(tmp_path / "elsewhere", {"secret.txt": b"secret"})
    (dataset / "linked").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(ManifestError, match="linked is a symlink"):
        compute_manifest(dataset)


def test_refuses_a_dangling_symlink(dataset, tmp_path):
    (dataset / "dangling").symlink_to(tmp_path / "nowhere")
    with pytest.raises(ManifestError, match="dangling is a symlink"):
        compute_manifest(dataset)


def test_refuses_a_folder_that_is_itself_a_symlink(dataset, tmp_path):
    (tmp_path / "alias").symlink_to(dataset, target_is_directory=True)
    with pytest.raises(ManifestError, match="is a symlink; give the real folder"):
        compute_manifest(tmp_path / "alias")


def test_refuses_a_fifo(dataset):
    os.mkfifo(dataset / "diagnoses" / "pipe")
    with pytest.raises(ManifestError, match="diagnoses/pipe is a fifo"):
        compute_manifest(dataset)


def test_refuses_a_socket(tmp_path):
    folder = make_dataset(tmp_path / "d", {"a.txt": b"a"})
    path = folder / "s"
    if len(os.fsencode(path)) > 100:
        pytest.skip("temporary path too long for a unix socket")
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(os.fspath(path))
        with pytest.raises(ManifestError, match="s is a socket"):
            compute_manifest(folder)


def test_error_for_special_files_says_what_to_do(dataset):
    os.mkfifo(dataset / "pipe")
    with pytest.raises(ManifestError, match="may hold only regular files") as raised:
        compute_manifest(dataset)
    assert "replace links with copies" in str(raised.value)


ZEROS = "0" * 64


def one_entry(path, size, sha256) -> str:
    entry = {"path": path, "size": size, "sha256": sha256}
    return json.dumps({"format": 1, "entries": [entry]})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not valid JSON"),
        ("[]", "format"),
        ('{"format": 2, "entries": []}', "format"),
        ('{"format": 1, "entries": [], "extra": 1}', "exactly"),
        ('{"format": 1, "entries": []}', "at least one file"),
        ('{"format": 1, "entries": [{"path": "a", "size": 1}]}', "exactly"),
        (one_entry("a", -1, ZEROS), "size"),
        (one_entry("a", 1, "XYZ"), "sha256"),
        (one_entry("a", 1, "A" * 64), "sha256"),
        (one_entry("../a", 1, ZEROS), "relative"),
        (one_entry("/a", 1, ZEROS), "relative"),
        (one_entry("a//b", 1, ZEROS), "relative"),
        (one_entry("a/./b", 1, ZEROS), "relative"),
    ],
)
def test_from_json_rejects_malformed_manifests(text, message):
    with pytest.raises(ManifestError, match=message):
        Manifest.from_json(text)


def test_manifest_rejects_unsorted_or_duplicate_entries():
    a = ManifestEntry("a", 1, "0" * 64)
    b = ManifestEntry("b", 1, "1" * 64)
    with pytest.raises(ManifestError, match="sorted"):
        Manifest((b, a))
    with pytest.raises(ManifestError, match="more than once"):
        Manifest((a, a))


def test_threaded_and_single_threaded_hashing_agree(dataset, monkeypatch):
    monkeypatch.setattr(manifest_module, "HASH_THREADS", 4)
    threaded = compute_manifest(dataset)
    monkeypatch.setattr(manifest_module, "HASH_THREADS", 1)
    assert compute_manifest(dataset) == threaded
