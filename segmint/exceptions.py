"""The one error tree of segmint.

Every error a *user* can cause (a bad file, a wrong option, a failed quality gate) is a
:class:`SegmintError`. The CLI prints these as one paragraph and exits with code 2; anything
else is a bug and keeps its traceback::

    SegmintError                   a problem the user can fix; never a bug
    ├── InputError                 the input data or file is not what segmint can read
    │   ├── EmptyInputError        the file/table has no data rows
    │   ├── UnreadableFileError    binary garbage, wrong encoding, wrong delimiter, bad Excel
    │   └── MappingError           a required column is missing, or headers are duplicated
    ├── QualityGateError           data read, but too much of it is invalid (threshold crossed)
    ├── SpecError                  the YAML spec or an option is invalid (all problems at once)
    ├── WorkspaceError             the workspace file cannot be opened or written
    │   ├── DiskSpaceError         not enough free disk space for the import
    │   └── EngineError            the database engine could not read or write its files
    │       └── MemoryLimitError   the database engine needed more memory than allowed
    ├── ModelError                 a segmenter or model cannot do what was asked
    │   └── NotFittedError         predict/transform called before fit (also a ValueError)
    ├── ExportError                an audience file cannot be written as asked (too small, …)
    ├── ExperimentError            a split test cannot be designed or analyzed as asked
    ├── MonitorError               two runs cannot be compared as asked (unknown run, …)
    └── MissingDependencyError     an optional extra is needed: pip install 'segmint[extra]'

    SegmintWarning (a UserWarning)  a usable result the user should know about

Each error carries ``problem`` (what was expected and what was found), ``where`` (file, row,
column when known) and ``fix`` (how to fix it); ``str(error)`` joins them into one paragraph.
Each part is cut to :data:`MAX_PART_CHARS` characters (a note says how much was cut), so a
message quoting a 1 MB line of a file stays readable wherever it is shown.

>>> len(SegmintError("x" * 10_000).problem) < MAX_PART_CHARS + 60
True
"""

from __future__ import annotations

__all__ = [
    "DiskSpaceError",
    "EmptyInputError",
    "EngineError",
    "ExperimentError",
    "ExportError",
    "InputError",
    "MappingError",
    "MemoryLimitError",
    "MissingDependencyError",
    "ModelError",
    "MonitorError",
    "NotFittedError",
    "QualityGateError",
    "SegmintError",
    "SegmintWarning",
    "SpecError",
    "UnreadableFileError",
    "WorkspaceError",
]

#: the most characters of one part (problem, where, fix) of an error message
MAX_PART_CHARS = 2_000
#: the most entries of :attr:`SpecError.problems` kept
MAX_PROBLEMS = 100


def cap(text: str, limit: int = MAX_PART_CHARS) -> str:
    """``text`` cut to ``limit`` characters, saying how many were left out.

    >>> cap("abcdef", 3)
    'abc… (3 more characters not shown)'
    """
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit:,} more characters not shown)"


class SegmintError(Exception):
    """A problem the user can fix. ``str()`` gives one paragraph: where, what, how to fix."""

    def __init__(self, problem: str, *, fix: str | None = None, where: str | None = None) -> None:
        self.problem = cap(problem.strip())
        self.fix = cap(fix.strip()) if fix else None
        self.where = cap(where) if where else None
        super().__init__(self.paragraph())

    def paragraph(self) -> str:
        parts = []
        if self.where:
            parts.append(f"{self.where}:")
        parts.append(self.problem)
        if self.fix:
            parts.append(f"Fix: {self.fix}")
        return " ".join(parts)


class InputError(SegmintError):
    """The input data or file is not what segmint can read."""


class EmptyInputError(InputError):
    """The file or table has no data rows."""


class UnreadableFileError(InputError):
    """The file cannot be parsed: binary content, wrong encoding, wrong delimiter, bad workbook."""


class MappingError(InputError):
    """Columns cannot be mapped: a required column is missing, or a header is duplicated."""


class QualityGateError(SegmintError):
    """The data was read, but a quality gate (e.g. at most 5 % invalid dates) was crossed."""


class SpecError(SegmintError):
    """The spec (YAML) or an option is invalid. ``problems`` lists every problem found."""

    def __init__(
        self,
        problem: str,
        *,
        fix: str | None = None,
        where: str | None = None,
        problems: list[str] | None = None,
    ) -> None:
        found = problems or [problem]
        self.problems = [cap(p) for p in found[:MAX_PROBLEMS]]
        if len(found) > MAX_PROBLEMS:
            self.problems.append(f"… and {len(found) - MAX_PROBLEMS:,} more problems not shown.")
        super().__init__(problem, fix=fix, where=where)


class WorkspaceError(SegmintError):
    """The workspace file cannot be opened or written."""


class DiskSpaceError(WorkspaceError):
    """Not enough free disk space where the workspace lives."""


class EngineError(WorkspaceError):
    """The database engine failed for a reason outside the data: a file it could not read or
    write (permissions, a read-only disk), or memory (:class:`MemoryLimitError`). Raised by
    :func:`segmint.store.engine_errors`, the one place that translates DuckDB's errors."""


class MemoryLimitError(EngineError):
    """The database engine needed more memory than ``SEGMINT_MEMORY_LIMIT`` allows."""


class MissingDependencyError(SegmintError):
    """An optional part of segmint needs an extra installed."""


class ModelError(SegmintError):
    """A segmenter or model cannot do what was asked (bad parameter, degenerate data)."""


class NotFittedError(ModelError, ValueError):
    """``predict`` (or similar) was called before ``fit``."""


class ExportError(SegmintError):
    """An audience file cannot be written as asked: an unknown destination or segment, an
    audience smaller than the platform takes, an option the destination does not have."""


class ExperimentError(SegmintError):
    """A split test cannot be designed or analyzed as asked: its name is taken, a segment is
    unknown or empty, a variant or metric is not in the results, the run or segmentation does
    not exist. (Invalid variants or weights of a design are a :class:`SpecError`, listing every
    problem at once.)"""


class MonitorError(SegmintError):
    """Two runs cannot be compared as asked: fewer than two segment runs, an unknown run id,
    a run that is not a segment run, the same run twice."""


class SegmintWarning(UserWarning):
    """Something a Python user should know about a result that is still usable (a model
    refitted with a penalizer, a history too short for a method's labels). The CLI, the
    report and the web show the same text from the result's ``warnings``, so the command line
    does not print these a second time."""
