"""Outbox reads refuse everything that is not a plain file inside the outbox;
staging is content-addressed, read-only, and leaves nothing behind on failure."""

import errno
import hashlib
import os
import stat

import pytest

from egress_review import staging as staging_mod
from egress_review.domain.exceptions import (
    FileTooLarge,
    InvalidInput,
    OutboxFileMissing,
    PathEscapesOutbox,
    SpecialFileRefused,
    StagingDiskFull,
    SymlinkRefused,
    TooManyFiles,
)
from egress_review.staging import StagingLimits, StagingStore, inspect_outbox_file, open_outbox_file, split_relpath


@pytest.fixture
def outbox(tmp_path):
    box = tmp_path / "outbox"
    (box / "tables").mkdir(parents=True)
    (box / "tables" / "counts.csv").write_text("g,n\na,12\n")
    return box


@pytest.fixture
def store(tmp_path):
    return StagingStore(tmp_path / "staging")


@pytest.mark.parametrize("path", ["../secret.csv", "tables/../../x", "a/../../b"])
def test_paths_leaving_the_outbox_are_refused(path):
    with pytest.raises(PathEscapesOutbox):
        split_relpath(path)


@pytest.mark.parametrize("path", ["/etc/passwd", "\\\\server\\share"])
def test_absolute_paths_are_refused(path):
    with pytest.raises(PathEscapesOutbox):
        split_relpath(path)


@pytest.mark.parametrize("path", ["", "   ", "a\x00b", "\ud800.csv", "x" * 2000])
def test_malformed_paths_are_invalid_input(path):
    with pytest.raises(InvalidInput):
        split_relpath(path)


def test_dot_and_duplicate_slashes_normalise():
    assert split_relpath("./tables//counts.csv") == ("tables", "counts.csv")


def test_symlinked_file_is_refused_even_if_it_points_inside(outbox):
    (outbox / "link.csv").symlink_to(outbox / "tables" / "counts.csv")
    with pytest.raises(SymlinkRefused) as err:
        open_outbox_file(outbox, "link.csv")
    assert "symbolic link" in err.value.message


def test_symlinked_directory_in_the_middle_of_the_path_is_refused(outbox, tmp_path):
    secret = tmp_path / "data"
    secret.mkdir()
    (secret / "cohort.csv").write_text("id\n1\n")
    (outbox / "sneaky").symlink_to(secret)
    with pytest.raises(SymlinkRefused) as err:
        open_outbox_file(outbox, "sneaky/cohort.csv")
    assert "'sneaky'" in err.value.message


def test_outbox_that_is_itself_a_symlink_is_refused(outbox, tmp_path):
    link = tmp_path / "linked-outbox"
    link.symlink_to(outbox)
    with pytest.raises(SymlinkRefused):
        open_outbox_file(link, "tables/counts.csv")


def test_fifo_is_refused_without_hanging(outbox):
    os.mkfifo(outbox / "pipe")
    with pytest.raises(SpecialFileRefused):
        open_outbox_file(outbox, "pipe")


def test_directory_is_refused_as_a_file(outbox):
    with pytest.raises(SpecialFileRefused):
        open_outbox_file(outbox, "tables")


@pytest.mark.skipif(os.geteuid() != 0, reason="creating a device node needs root")
def test_device_node_is_refused(outbox):
    os.mknod(outbox / "dev", 0o600 | stat.S_IFCHR, os.makedev(1, 3))
    with pytest.raises(SpecialFileRefused):
        open_outbox_file(outbox, "dev")


def test_missing_file_says_what_to_check(outbox):
    with pytest.raises(OutboxFileMissing) as err:
        open_outbox_file(outbox, "tables/nope.csv")
    assert "relative to ~/outbox" in err.value.message


def test_file_over_the_size_limit_is_refused(outbox):
    (outbox / "big.bin").write_bytes(b"x" * 2049)
    with pytest.raises(FileTooLarge):
        inspect_outbox_file(outbox, "big.bin", StagingLimits(max_file_bytes=2048))
    assert inspect_outbox_file(outbox, "tables/counts.csv", StagingLimits(max_file_bytes=2048)) == 9


def test_too_many_files_is_refused():
    StagingLimits(max_files=2).check_file_count(2)
    with pytest.raises(TooManyFiles):
        StagingLimits(max_files=2).check_file_count(3)


def test_staged_copy_is_content_addressed_and_read_only(outbox, store):
    blob = store.stage(outbox, "tables/counts.csv", StagingLimits())
    expected = hashlib.sha256(b"g,n\na,12\n").hexdigest()
    assert blob.sha256 == expected and blob.size == 9
    path = store.root / "sha256" / expected[:2] / expected[2:]
    assert path.read_bytes() == b"g,n\na,12\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o444
    assert list(store.tmp.iterdir()) == []


def test_changing_the_outbox_after_staging_does_not_change_the_staged_copy(outbox, store):
    blob = store.stage(outbox, "tables/counts.csv", StagingLimits())
    (outbox / "tables" / "counts.csv").write_text("g,n\na,3\n")
    assert store.read_verified(blob.sha256) == b"g,n\na,12\n"


def test_file_growing_past_the_limit_during_copy_is_refused(outbox, store, monkeypatch):
    (outbox / "grow.csv").write_bytes(b"y" * 100)
    real_read = os.read

    def growing_read(fd, n):
        data = real_read(fd, n)
        return data + b"z" * 200 if data else data

    monkeypatch.setattr(staging_mod.os, "read", growing_read)
    with pytest.raises(FileTooLarge):
        store.stage(outbox, "grow.csv", StagingLimits(max_file_bytes=150))
    assert list(store.tmp.iterdir()) == []


def test_disk_full_during_copy_is_a_clear_error_and_leaves_no_temp_file(outbox, store, monkeypatch):
    def full(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(staging_mod, "_write_all", full)
    with pytest.raises(StagingDiskFull) as err:
        store.stage(outbox, "tables/counts.csv", StagingLimits())
    assert "disk is full" in err.value.message and "unchanged" in err.value.message
    assert list(store.tmp.iterdir()) == []
    assert list(store.blobs.iterdir()) == []


def test_tampered_blob_fails_verification(outbox, store):
    blob = store.stage(outbox, "tables/counts.csv", StagingLimits())
    path = store.blob_path(blob.sha256)
    os.chmod(path, 0o644)
    path.write_bytes(b"g,n\na,1\n")
    assert not store.verify(blob.sha256)
    from egress_review.domain.exceptions import IntegrityFailure

    with pytest.raises(IntegrityFailure):
        store.read_verified(blob.sha256)


def test_sweep_removes_temp_files_and_unreferenced_blobs_only(outbox, store):
    kept = store.stage(outbox, "tables/counts.csv", StagingLimits())
    (outbox / "other.csv").write_text("x,y\n")
    orphan = store.stage(outbox, "other.csv", StagingLimits())
    (store.tmp / "dead.part").write_bytes(b"half")
    report = store.sweep({kept.sha256})
    assert report.temp_removed == 1 and report.orphans_removed == 1
    assert store.blob_path(kept.sha256).exists()
    assert not store.blob_path(orphan.sha256).exists()


def test_failed_submission_unpins_and_removes_its_unreferenced_blob(outbox, store):
    blob = store.stage(outbox, "tables/counts.csv", StagingLimits())
    store.unpin([blob.sha256], lambda sha: False)
    assert not store.blob_path(blob.sha256).exists()


def test_blob_held_by_another_submission_is_not_removed(outbox, store):
    a = store.stage(outbox, "tables/counts.csv", StagingLimits())
    store.stage(outbox, "tables/counts.csv", StagingLimits())  # a second submission, same bytes
    store.unpin([a.sha256], lambda sha: False)
    assert store.blob_path(a.sha256).exists()


def test_checks_see_the_outbox_file_names(outbox, store):
    blob = store.stage(outbox, "tables/counts.csv", StagingLimits())
    with store.checks_view([("tables/counts.csv", blob.sha256)]) as paths:
        seen = paths["tables/counts.csv"]
        assert seen.name == "counts.csv" and seen.read_bytes() == b"g,n\na,12\n"
    assert not seen.exists()
