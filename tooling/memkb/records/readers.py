"""The reference YAML reader behind memkb.records.load, imported on first use: PyYAML's
libyaml loader with our rules, and the locator built on it (the pre-filter of the fast
reader is memkb.records.prefilter).

A separate module because PyYAML costs about 18 ms to import, paid otherwise by every
command that imports memkb.records.load, including those that never read a record.
memkb.records.load re-exports the names below.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

from memkb.limits import MAX_INT

# Past this many characters (signs, underscores and leading zeros aside) an integer is
# out of range in any base YAML allows, so it is refused before conversion: converting
# thousands of digits is what raised "Exceeds the limit (4300 digits)".
_MAX_INT_CHARS = 64

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class IntegerOutOfRange(yaml.MarkedYAMLError):
    """An integer scalar beyond ±MAX_INT (KB112); `problem_mark` is where it starts."""


class KbLoader(_Loader):  # type: ignore[misc,valid-type]
    """Safe loader that records duplicate keys instead of silently keeping the last one."""

    duplicates: list[tuple[str, yaml.Mark]]

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, str | int | float | bool):
                continue  # unhashable keys fail in the base constructor with a clear mark
            if key in seen:
                self.duplicates.append((str(key), key_node.start_mark))
            seen.add(key)
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return mapping

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        """The integer, or IntegerOutOfRange past ±MAX_INT (checked before converting)."""
        digits = str(node.value).replace("_", "").lstrip("+-").lstrip("0")
        value: int | None = None
        if len(digits) <= _MAX_INT_CHARS:
            value = super().construct_yaml_int(node)
        if value is None or abs(value) > MAX_INT:
            raise IntegerOutOfRange(
                problem=f"integer beyond ±{MAX_INT}", problem_mark=node.start_mark
            )
        return value


# Keep dates as strings: the schemas check their format, and a record must
# round-trip to JSON unchanged.
KbLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in _Loader.yaml_implicit_resolvers.items()
}
KbLoader.add_constructor("tag:yaml.org,2002:map", KbLoader.construct_mapping)
KbLoader.add_constructor("tag:yaml.org,2002:int", KbLoader.construct_yaml_int)


class Locator:
    """Locates document paths in one YAML text, composing the text once."""

    def __init__(self, text: str) -> None:
        try:
            self.node: yaml.Node | None = yaml.compose(text, Loader=KbLoader)
        except yaml.YAMLError:
            self.node = None

    def find(self, path: Sequence[str | int], *, key: bool = False) -> tuple[int, int]:
        """Line and column of the value (or key) at `path`; see memkb.records.load.locate."""
        node = self.node
        if node is None:
            return 1, 1
        mark = node.start_mark
        for step in path:
            child = _child(node, step)
            if child is None:
                break
            key_node, node = child
            last = step == path[-1]
            mark = key_node.start_mark if (key and last and key_node) else node.start_mark
        return mark.line + 1, mark.column + 1


def _child(node: yaml.Node, step: str | int) -> tuple[Any, yaml.Node] | None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if key_node.value == str(step):
                return key_node, value_node
    if isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
        return None, node.value[step]
    return None
