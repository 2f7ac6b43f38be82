"""The error a bad rule file raises: every problem as ``file:line: field: what was expected``."""

from __future__ import annotations

#: A problem: (line, 1-based, 0 when unknown; dotted field, "" for the whole file; message).
Problem = tuple[int, str, str]


class RuleFileError(ValueError):
    """A rule file is invalid. ``problems`` holds (line, field, problem) triples (line 1-based,
    0 when unknown); the message lists them as ``file:line: field: problem``."""

    def __init__(self, path: str, problems: list[Problem]):
        self.path = path
        self.problems = problems
        lines = [f"{path}:{line}: {fld}: {msg}" if fld else f"{path}:{line}: {msg}"
                 for line, fld, msg in problems]  # fmt: skip
        super().__init__("invalid rule file\n  " + "\n  ".join(lines))

    @property
    def line(self) -> int:
        return self.problems[0][0]

    @property
    def field(self) -> str:
        return self.problems[0][1]


def dotted(path: tuple) -> str:
    """A field path as a reader writes it: ``("checks", 0, "metric")`` -> ``checks[0].metric``."""
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out
