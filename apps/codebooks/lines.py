"""Parse codebook YAML and JSON text, recording the line of every field and duplicate keys.

Pure Python: no Django imports.
"""

from __future__ import annotations

import bisect
import json
import re
from json.decoder import scanstring
from typing import Any

import yaml

from apps.codebooks.specs import CodebookFormatError, FieldPath, FormatIssue


def parse_yaml(text: str, filename: str) -> tuple[Any, dict[FieldPath, int], list[FieldPath]]:
    """Return (data, line of each field path, duplicated key paths) for YAML text."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        message = f"not valid YAML: {exc.problem or exc.context}"
        raise CodebookFormatError([FormatIssue(filename, line, "", message)]) from None
    except (yaml.YAMLError, RecursionError) as exc:
        raise CodebookFormatError(
            [FormatIssue(filename, None, "", f"not valid YAML: {exc}")]
        ) from None
    finally:
        loader.dispose()
    lines: dict[FieldPath, int] = {}
    duplicates: list[FieldPath] = []
    if node is not None:
        _yaml_lines(node, (), lines, duplicates, set())
    return data, lines, duplicates


def _yaml_lines(
    node: yaml.Node,
    path: FieldPath,
    lines: dict[FieldPath, int],
    dups: list[FieldPath],
    seen_nodes: set[int],
) -> None:
    # Keys are recorded before their values so a field's line is the line of its key.
    lines.setdefault(path, node.start_mark.line + 1)
    if id(node) in seen_nodes:
        return  # an alias: walking it again could explode ("billion laughs")
    seen_nodes.add(id(node))
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                dups.append(path + (key,))
                lines[path + (key,)] = key_node.start_mark.line + 1
            seen.add(key)
            lines.setdefault(path + (key,), key_node.start_mark.line + 1)
            _yaml_lines(value_node, path + (key,), lines, dups, seen_nodes)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _yaml_lines(item, path + (index,), lines, dups, seen_nodes)


_JSON_WS = re.compile(r"[ \t\n\r]*")
_JSON_ATOM = re.compile(r"-?(?:Infinity|\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)|true|false|null|NaN")


def parse_json(text: str, filename: str) -> tuple[Any, dict[FieldPath, int], list[FieldPath]]:
    """Return (data, line of each field path, duplicated key paths) for JSON text."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CodebookFormatError(
            [FormatIssue(filename, exc.lineno, "", f"not valid JSON: {exc.msg}")]
        ) from None
    except RecursionError:
        raise CodebookFormatError(
            [FormatIssue(filename, None, "", "not valid JSON: nested too deeply")]
        ) from None
    lines: dict[FieldPath, int] = {}
    duplicates: list[FieldPath] = []
    # json.loads has no positions, so walk the (now known valid) text once more for them.
    newlines = [i for i, char in enumerate(text) if char == "\n"]

    def line_at(pos: int) -> int:
        return bisect.bisect_left(newlines, pos) + 1

    def walk(pos: int, path: FieldPath) -> int:
        pos = _JSON_WS.match(text, pos).end()
        lines.setdefault(path, line_at(pos))
        char = text[pos]
        if char == '"':
            return scanstring(text, pos + 1)[1]
        if char not in "{[":
            return _JSON_ATOM.match(text, pos).end()
        close, index, seen = ("}" if char == "{" else "]"), 0, set()
        pos = _JSON_WS.match(text, pos + 1).end()
        if text[pos] == close:
            return pos + 1
        while True:
            pos = _JSON_WS.match(text, pos).end()
            if char == "{":
                key, end = scanstring(text, pos + 1)
                if key in seen:
                    duplicates.append(path + (key,))
                    lines[path + (key,)] = line_at(pos)
                seen.add(key)
                lines.setdefault(path + (key,), line_at(pos))
                pos = walk(_JSON_WS.match(text, end).end() + 1, path + (key,))
            else:
                pos = walk(pos, path + (index,))
                index += 1
            pos = _JSON_WS.match(text, pos).end()
            if text[pos] == close:
                return pos + 1
            pos += 1  # the comma

    walk(0, ())
    return data, lines, duplicates
