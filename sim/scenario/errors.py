"""The one error type for bad scenario and experiment input."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple


class Problem(NamedTuple):
    """One thing wrong with a scenario: where it was written and what was expected."""

    file: str
    field: str
    line: int | None
    expected: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        if not self.field:
            return f"{where}: {self.expected}"
        return f"{where}: {self.field}: {self.expected}"


class ScenarioError(ValueError):
    """A scenario file or dictionary was refused.

    ``file`` is the file the offending value came from (or ``<dict>``), ``field`` the dotted
    field path (empty for file-level errors), ``expected`` what was expected and ``line`` the
    line in ``file`` when known. These describe the first problem; ``errors`` lists every
    problem found as :class:`Problem` tuples ``(file, field, line, expected)``, and the
    message has one line per problem.
    """

    def __init__(
        self,
        file: str,
        field: str,
        expected: str,
        line: int | None = None,
        errors: Iterable[Problem] | None = None,
        what: str = "scenario",
    ) -> None:
        self.file = file
        self.field = field
        self.expected = expected
        self.line = line
        self.what = what
        first = Problem(file, field, line, expected)
        self.errors: list[Problem] = list(errors) if errors else [first]
        if len(self.errors) == 1:
            message = str(self.errors[0])
        else:
            message = f"{what} refused, {len(self.errors)} problems:\n" + "\n".join(
                f"  {problem}" for problem in self.errors
            )
        super().__init__(message)

    @classmethod
    def from_problems(cls, problems: Iterable[Problem], what: str = "scenario") -> ScenarioError:
        """One error carrying several problems (the first one fills the attributes);
        ``what`` was refused (a scenario, an experiment) says the message."""
        unique = list(dict.fromkeys(problems))
        if not unique:
            raise ValueError("from_problems needs at least one problem")
        first = unique[0]
        return cls(first.file, first.field, first.expected, first.line, unique, what)

    def __reduce__(self):  # picklable across worker processes
        return (type(self), (self.file, self.field, self.expected, self.line, self.errors,
                             self.what))
