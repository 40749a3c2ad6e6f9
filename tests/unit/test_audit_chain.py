"""Telling tampering apart from a chain's links alone (enclave/state/audit_chain.py)."""

import hashlib

from enclave.state.audit_chain import GENESIS, Link, classify, missing_keys


def _chain(n: int) -> list[Link]:
    links, prev = [], GENESIS
    for key in range(1, n + 1):
        digest = hashlib.sha256(f"{prev}{key}".encode()).hexdigest()
        links.append(Link(key, prev, digest, True))
        prev = digest
    return links


def _kinds(links):
    return [(p.key, p.kind) for p in classify("test", links)]


def test_an_intact_chain_has_no_problems():
    assert _kinds(_chain(5)) == []


def test_a_deleted_entry_is_reported_on_the_one_after_it():
    links = _chain(5)
    assert _kinds(links[:2] + links[3:]) == [(4, "deleted")]


def test_an_inserted_entry_with_a_made_up_link_is_reported_as_inserted_not_the_one_after_it():
    links = _chain(4)
    forged = Link(99, "f" * 64, "e" * 64, True)
    assert _kinds(links[:2] + [forged] + links[2:]) == [(99, "inserted")]


def test_an_inserted_entry_chained_onto_its_predecessor_is_reported_as_inserted():
    links = _chain(4)
    forged = Link(99, links[1].entry_hash, "e" * 64, True)
    assert _kinds(links[:2] + [forged] + links[2:]) == [(99, "inserted")]


def test_swapped_entries_are_reported_as_reordered():
    links = _chain(5)
    swapped = links[:2] + [links[3], links[2]] + links[4:]
    assert _kinds(swapped) == [(4, "reordered")]


def test_an_edited_entry_and_one_that_hashes_under_another_key():
    links = _chain(3)
    links[1] = Link(2, links[1].prev_hash, links[1].entry_hash, False)
    links[2] = Link(3, links[2].prev_hash, links[2].entry_hash, False, written_as=7)
    assert _kinds(links) == [(2, "edited"), (3, "reordered")]


def test_gaps_in_the_numbering_name_the_missing_entries():
    assert [(p.key, p.message) for p in missing_keys("test", [1, 2, 5, 6, 8])] == [
        (5, "entries 3..4 before it are missing: deleted"),
        (8, "entry 7 before it is missing: deleted"),
    ]
