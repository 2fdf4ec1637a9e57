"""The level hierarchy and its hierarchical codes.

A code at depth *d* is the concatenation of the codes of the levels 0..*d*: with the default
widths 6 + 3 + 3 + 3 a district has 6 digits, a street 9, a community 12 and a grid 15 (the
unit-grid code of Beijing DB11/T 2157-2023). A child's code starts with its parent's code.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, text

from gridgeo.errors import InvalidInput


@dataclass(frozen=True)
class LevelSpec:
    """One level of the chain.

    Attributes:
        id: database id.
        key: machine name (``district``, ``street``...).
        depth: 0 for the top level.
        code_width: digits this level adds to its parent's code.
        code_length: total digits of a code at this level.
        label_zh: Chinese label.
        label_en: English label.
    """

    id: int
    key: str
    depth: int
    code_width: int
    code_length: int
    label_zh: str
    label_en: str


@dataclass(frozen=True)
class Hierarchy:
    """The ordered chain of levels, top first."""

    levels: tuple[LevelSpec, ...]

    @classmethod
    def from_rows(cls, rows: list[tuple[int, str, int, int, str, str]]) -> Hierarchy:
        """Build from ``(id, key, depth, code_width, label_zh, label_en)`` rows."""
        total = 0
        specs = []
        for row in sorted(rows, key=lambda r: r[2]):
            total += row[3]
            specs.append(LevelSpec(row[0], row[1], row[2], row[3], total, row[4], row[5]))
        return cls(tuple(specs))

    def get(self, key: str) -> LevelSpec:
        """The level named ``key``.

        Raises:
            InvalidInput: when no level has that name.
        """
        for spec in self.levels:
            if spec.key == key:
                return spec
        known = ", ".join(s.key for s in self.levels)
        raise InvalidInput(f"unknown level '{key}'; the levels are: {known}", field="level")

    def by_depth(self, depth: int) -> LevelSpec:
        """The level at ``depth``."""
        return self.levels[depth]

    def parent_of(self, spec: LevelSpec) -> LevelSpec | None:
        """The level above ``spec``, or None at the top."""
        return self.levels[spec.depth - 1] if spec.depth > 0 else None

    def level_of_code(self, code: str) -> LevelSpec | None:
        """The level whose code length matches ``code``; None when none does."""
        for spec in self.levels:
            if spec.code_length == len(code):
                return spec
        return None

    def code_problem(
        self, code: str, spec: LevelSpec, parent_code: str | None = None
    ) -> str | None:
        """Say what is wrong with ``code`` for a grid of level ``spec``; None when it is fine."""
        if not code:
            return "empty code"
        if not code.isdigit() or not code.isascii():
            return f"code '{code}' must contain digits only"
        if len(code) != spec.code_length:
            return (
                f"code '{code}' has {len(code)} digits; a {spec.key} code has "
                f"{spec.code_length} ({'+'.join(str(s.code_width) for s in self.levels[: spec.depth + 1])})"
            )
        if parent_code is not None and not code.startswith(parent_code):
            return f"code '{code}' does not start with its parent's code '{parent_code}'"
        return None

    def parent_code(self, code: str) -> str | None:
        """The code of the parent implied by a code's prefix; None for the top level."""
        spec = self.level_of_code(code)
        if spec is None or spec.depth == 0:
            return None
        return code[: self.levels[spec.depth - 1].code_length]


def load_hierarchy(conn: Connection) -> Hierarchy:
    """Read the level chain from the database."""
    rows = conn.execute(
        text("SELECT id, key, depth, code_width, label_zh, label_en FROM levels ORDER BY depth")
    ).all()
    return Hierarchy.from_rows([tuple(r) for r in rows])
