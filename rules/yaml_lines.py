"""Rule-file YAML read safely, with the line of every field.

The node tree is composed first (``yaml.compose`` with ``SafeLoader``: no object is built) to
learn the line of every field and to refuse any tag outside plain YAML (``!!python/object...``
and friends) before anything is constructed; the data is then read with ``yaml.safe_load``.
Nothing in a rule file is ever evaluated.
"""

from __future__ import annotations

from typing import Any

import yaml

from rules.errors import Problem, RuleFileError, dotted

#: A field's path (keys and list indices from the top of the file) -> its 1-based line.
LineMap = dict[tuple, int]

_PLAIN_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
}


def line_map(node: yaml.Node, path: tuple = (), out: LineMap | None = None) -> LineMap:
    """Map each path (tuple of keys / indices) to the 1-based line of its node; a mapping
    entry's line is its key's."""
    out = {} if out is None else out
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.value)
            out[(*path, key)] = key_node.start_mark.line + 1
            line_map(value_node, (*path, key), out)
            out[(*path, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            line_map(item, (*path, i), out)
    return out


def line_of(lines: LineMap, path: tuple) -> tuple[tuple, int]:
    """(the longest prefix of ``path`` present in the file, its line; 0 if none).

    A missing field's path is not in the file: its problem is reported at the mapping that
    lacks it, as a reader would look for it."""
    while path and path not in lines:
        path = path[:-1]
    return path, lines.get(path, 0)


def _foreign_tags(node: yaml.Node, path: tuple = ()) -> list[Problem]:
    problems: list[Problem] = []
    if node.tag not in _PLAIN_TAGS and not node.tag.startswith("tag:yaml.org,2002:timestamp"):
        problems.append(
            (
                node.start_mark.line + 1,
                dotted(path),
                f"tag {node.tag!r} is not allowed: rule files are plain data "
                "(strings, numbers, lists, mappings); no code",
            )
        )
        return problems
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            problems += _foreign_tags(key_node, path)
            problems += _foreign_tags(value_node, (*path, getattr(key_node, "value", "?")))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            problems += _foreign_tags(item, (*path, i))
    return problems


def parse_yaml(text: str, path: str) -> tuple[Any, LineMap]:
    """Safe-parse YAML text; returns (data, line map). Raises RuleFileError for bad YAML or a
    tag outside plain YAML, naming the line."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        raise RuleFileError(path, [(line, "", f"invalid YAML: {exc.problem or exc}")]) from None
    except yaml.YAMLError as exc:
        raise RuleFileError(path, [(0, "", f"invalid YAML: {exc}")]) from None
    if node is None:
        raise RuleFileError(path, [(1, "", "empty file")])
    tags = _foreign_tags(node)
    if tags:
        raise RuleFileError(path, tags)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:  # pragma: no cover - compose already accepted it
        raise RuleFileError(path, [(0, "", f"invalid YAML: {exc}")]) from None
    return data, line_map(node)
