"""The file under check: its bytes, detected kind, and lazily parsed views shared by the rules."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import polars as pl

from .sniff import UTF8_BOM, Detection, detect
from .tables import read_table


@dataclass
class CheckedFile:
    path: Path
    data: bytes = field(repr=False)
    detection: Detection

    @classmethod
    def load(cls, path: Path) -> CheckedFile:
        data = Path(path).read_bytes()
        return cls(Path(path), data, detect(data, Path(path).name))

    @property
    def kind(self):
        return self.detection.kind

    @property
    def size(self) -> int:
        return len(self.data)

    @cached_property
    def text(self) -> str:
        body = self.data[len(UTF8_BOM) :] if self.data.startswith(UTF8_BOM) else self.data
        return body.decode("utf-8")

    @cached_property
    def json(self) -> Any:
        return json.loads(self.text)

    @cached_property
    def tables(self) -> list:
        """Every table the file carries, in any format (structured.tables_in), read once."""
        from .structured import tables_in

        return tables_in(self)

    @cached_property
    def table(self) -> pl.DataFrame:
        """Every column as strings, in file order; raises TableError if it cannot be read."""
        return read_table(self.data, self.kind, self.detection.delimiter)
