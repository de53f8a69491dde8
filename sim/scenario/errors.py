"""The one error type for bad scenario input."""

from __future__ import annotations


class ScenarioError(ValueError):
    """A scenario file or dictionary was refused.

    ``file`` is the file the offending value came from (or ``<dict>``), ``field`` the dotted
    field path (empty for file-level errors) and ``expected`` what was expected.
    """

    def __init__(self, file: str, field: str, expected: str, line: int | None = None) -> None:
        self.file = file
        self.field = field
        self.expected = expected
        self.line = line
        where = file if line is None else f"{file}:{line}"
        super().__init__(f"{where}: {field}: {expected}" if field else f"{where}: {expected}")
