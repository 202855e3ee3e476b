"""YAML loading with Travis's rules: safe, floats/yes/no/on/off/timestamps stay strings.

Also records the line of every key path, limits size and alias expansion, and never raises.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .messages import Messages

MAX_BYTES = 1_000_000
# Large enough for any real config (a 1 MB file has far fewer nodes), small enough that a
# "billion laughs" alias bomb stops within milliseconds.
MAX_NODES = 200_000

_BaseLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_INT = re.compile(r"^[-+]?(?:0|[1-9][0-9_]*)$|^0x[0-9a-fA-F_]+$")
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")

INT_TAG = "tag:yaml.org,2002:int"
BOOL_TAG = "tag:yaml.org,2002:bool"
NULL_TAG = "tag:yaml.org,2002:null"
STR_TAG = "tag:yaml.org,2002:str"
MERGE_TAG = "tag:yaml.org,2002:merge"


class TravisLoader(_BaseLoader):
    """A loader whose implicit types are only null, bool (true/false) and int.

    Travis keeps floats (`3.10`), `yes/no/on/off` and timestamps as strings, so those
    resolvers are left out on purpose.
    """

    yaml_implicit_resolvers: ClassVar[dict[str | None, list[tuple[str, re.Pattern[str]]]]] = {}


for _tag, _regexp, _first in (
    (BOOL_TAG, _BOOL, "tTfF"),
    (INT_TAG, _INT, "-+0123456789"),
    (NULL_TAG, _NULL, ["~", "n", "N", ""]),
    (MERGE_TAG, re.compile(r"^<<$"), "<"),
):
    TravisLoader.add_implicit_resolver(_tag, _regexp, list(_first))


@dataclass
class Loaded:
    """The loaded document, the line (1-based) of each dotted key path, and messages."""

    config: Any
    lines: dict[str, int] = field(default_factory=dict)
    messages: Messages = field(default_factory=Messages)
    ok: bool = True


class _TooManyNodes(Exception):
    pass


class _Constructor:
    """Turns composed nodes into plain data, counting nodes so aliases cannot explode."""

    def __init__(self, messages: Messages, max_nodes: int) -> None:
        self.lines: dict[str, int] = {}
        self.messages = messages
        self.max_nodes = max_nodes
        self.count = 0
        self.active: set[int] = set()

    def build(self, node: Node, path: str) -> Any:
        self.count += 1
        if self.count > self.max_nodes:
            raise _TooManyNodes
        if id(node) in self.active:
            # A recursive alias: cut the cycle instead of looping forever.
            self.messages.add("error", path or "root", "invalid_format", value="recursive alias")
            return None
        if isinstance(node, ScalarNode):
            return self.scalar(node)
        self.active.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                return [self.build_child(child, path, str(i)) for i, child in enumerate(node.value)]
            if isinstance(node, MappingNode):
                return self.mapping(node, path)
        finally:
            self.active.discard(id(node))
        return None

    def build_child(self, node: Node, path: str, key: str) -> Any:
        child_path = f"{path}.{key}" if path else key
        self.lines.setdefault(child_path, node.start_mark.line + 1)
        return self.build(node, child_path)

    def scalar(self, node: ScalarNode) -> Any:
        value: str = node.value
        if node.tag == NULL_TAG:
            return None
        if node.tag == BOOL_TAG:
            return value.lower() == "true"
        if node.tag == INT_TAG:
            text = value.replace("_", "")
            try:
                return int(text, 16) if text.lower().startswith("0x") else int(text)
            except ValueError:
                return value
        return value

    def mapping(self, node: MappingNode, path: str) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == MERGE_TAG:
                self.merge(result, value_node, path)
                continue
            key = _key_text(self.scalar(key_node) if isinstance(key_node, ScalarNode) else None)
            if key is None:
                self.messages.add("warn", path or "root", "invalid_format", value="non-scalar key")
                continue
            child_path = f"{path}.{key}" if path else key
            line = key_node.start_mark.line + 1
            if key in result:
                self.messages.add("error", path or "root", "duplicate_key", line=line, key=key)
            self.lines[child_path] = line
            result[key] = self.build(value_node, child_path)
        return result

    def merge(self, result: dict[str, Any], node: Node, path: str) -> None:
        """YAML merge keys (`<<: *defaults`): keys already present win."""
        sources = node.value if isinstance(node, SequenceNode) else [node]
        for source in sources:
            value = self.build(source, path)
            if isinstance(value, dict):
                for key, item in value.items():
                    result.setdefault(key, item)


def _key_text(key: Any) -> str | None:
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return ""
    if isinstance(key, (int, str)):
        text = str(key)
        # Ruby symbols (`:foo:`) come out with a leading colon; Travis drops it.
        return text[1:] if text.startswith(":") else text
    return None


def load(text: str, *, max_bytes: int = MAX_BYTES, max_nodes: int = MAX_NODES) -> Loaded:
    """Load one YAML document the way Travis does. Problems become error messages."""
    messages = Messages()
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        messages.add("error", "root", "too_large", size=size, max=max_bytes)
        return Loaded(None, {}, messages, ok=False)
    try:
        loader = TravisLoader(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else None
        problem = exc.problem or exc.context or "invalid YAML"
        messages.add("error", "root", "syntax_error", line=line, problem=problem, column=column)
        return Loaded(None, {}, messages, ok=False)
    except (yaml.YAMLError, RecursionError, ValueError) as exc:
        messages.add(
            "error",
            "root",
            "syntax_error",
            problem=str(exc) or "invalid YAML",
            line=None,
            column=None,
        )
        return Loaded(None, {}, messages, ok=False)
    if node is None:
        return Loaded(None, {}, messages)
    builder = _Constructor(messages, max_nodes)
    try:
        config = builder.build(node, "")
    except _TooManyNodes:
        messages.add("error", "root", "too_many_nodes", max=max_nodes)
        return Loaded(None, {}, messages, ok=False)
    except RecursionError:
        messages.add("error", "root", "too_many_nodes", max=max_nodes)
        return Loaded(None, {}, messages, ok=False)
    messages.lines = builder.lines
    return Loaded(config, builder.lines, messages)
