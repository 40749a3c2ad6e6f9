"""Reading a hash chain and saying what happened to it: edited, inserted, reordered or deleted entries.

Both logs are chains of entries, each holding the hash of the entry before it
(`prev_hash`) and its own hash over its content and that link (`entry_hash`).
`classify` takes the entries in stored order and names every entry whose
content or place no longer fits, so `enclave audit verify` can say which entry
and what kind of change. It knows nothing of either table.
"""

from __future__ import annotations

from dataclasses import dataclass

GENESIS = "0" * 64

EDITED, INSERTED, REORDERED, DELETED = "edited", "inserted", "reordered", "deleted"


@dataclass(frozen=True)
class Link:
    key: int  # the entry's position key: the enclave's seq, the airlock's id
    prev_hash: str
    entry_hash: str
    content_ok: bool  # its content still hashes to entry_hash
    written_as: int | None = None  # when the content hashes only under another key: that key


@dataclass(frozen=True)
class Problem:
    log: str  # "enclave" or "airlock" or "anchor" or "one log"
    key: int | None
    kind: str
    message: str

    def __str__(self) -> str:
        where = f"{self.log} entry {self.key}" if self.key is not None else self.log
        return f"{where}: {self.kind}: {self.message}"


def classify(log: str, links: list[Link]) -> list[Problem]:
    """Every entry that was edited, inserted, moved, or that follows a deleted one; one problem per entry."""
    found: dict[int, Problem] = {}

    def report(index: int, kind: str, message: str) -> None:
        key = links[index].key
        found.setdefault(key, Problem(log, key, kind, message))

    index_of = {link.entry_hash: i for i, link in enumerate(links)}
    referenced = {link.prev_hash for link in links}
    explained: set[int] = set()  # links already accounted for by an insertion found just before them

    for i, link in enumerate(links):
        if not link.content_ok:
            if link.written_as is not None and link.written_as != link.key:
                report(i, REORDERED, f"it was written as entry {link.written_as} and now sits at {link.key}")
            else:
                report(i, EDITED, "its content no longer matches its hash: it was changed after it was written")
        expected = links[i - 1].entry_hash if i else GENESIS
        if link.prev_hash == expected or i in explained:
            continue
        j = index_of.get(link.prev_hash)
        if j is not None and j > i:
            report(i, REORDERED, f"it was written after entry {links[j].key}, which now comes after it")
        elif j is not None and j < i - 1:
            # The entries between j and i are not in the chain. If nothing follows them they were
            # inserted; if something does, they were moved and are reported where they stand.
            for k in range(j + 1, i):
                if links[k].entry_hash not in referenced:
                    report(
                        k,
                        INSERTED,
                        f"it is not part of the chain: entry {link.key} follows entry {links[j].key} directly",
                    )
        elif j is None and link.prev_hash == GENESIS:
            report(i, INSERTED if i + 1 < len(links) else REORDERED, "it claims to be the first entry but is not")
        elif j is None:
            after_next = i + 1 < len(links) and links[i + 1].prev_hash == expected
            if after_next:
                report(
                    i,
                    INSERTED,
                    f"it is not part of the chain: entry {links[i + 1].key} follows "
                    f"entry {links[i - 1].key if i else 'none'} directly",
                )
                explained.add(i + 1)
            else:
                report(i, DELETED, "the entry it was chained onto is gone: one or more entries before it were deleted")
    return sorted(found.values(), key=lambda p: p.key)


def missing_keys(log: str, keys: list[int]) -> list[Problem]:
    """Gaps in a numbering that has none (the enclave's seq): entries deleted from the middle."""
    problems = []
    expected = 1
    for key in keys:
        if key > expected:
            span = f"entry {expected}" if key == expected + 1 else f"entries {expected}..{key - 1}"
            problems.append(
                Problem(
                    log, key, DELETED, f"{span} before it {'is' if key == expected + 1 else 'are'} missing: deleted"
                )
            )
        expected = key + 1
    return problems
