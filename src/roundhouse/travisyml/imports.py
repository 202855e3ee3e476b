"""Config imports (`import:`) and API request configs, merged with Travis's merge modes.

Fetching is the caller's: `import_fn(source, parent)` returns YAML text, or None if missing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .cond import text_of
from .filters import Conditions
from .load import load
from .messages import Messages

MAX_IMPORTS = 25
MODES = ("deep_merge_append", "deep_merge_prepend", "deep_merge", "merge", "replace")
DEFAULT_MODE = "deep_merge_append"

ImportFn = Callable[[str, "str | None"], "str | None"]


def merge(left: Any, right: Any, mode: str) -> Any:
    """`left` (the importing side) merged over `right` (the imported side)."""
    if mode == "replace":
        return left
    if not isinstance(left, dict) or not isinstance(right, dict):
        return _merge_value(left, right, mode)
    out = dict(right)
    for key, value in left.items():
        if key not in out or mode == "merge":
            out[key] = value
        else:
            out[key] = _merge_value(value, out[key], mode)
    return out


def _merge_value(left: Any, right: Any, mode: str) -> Any:
    if isinstance(left, dict) and isinstance(right, dict) and mode.startswith("deep_merge"):
        return merge(left, right, mode)
    if isinstance(left, list) and isinstance(right, list):
        if mode == "deep_merge_append":
            return right + left
        if mode == "deep_merge_prepend":
            return left + right
    return left


def import_entries(value: Any, msgs: Messages) -> list[dict[str, Any]]:
    """`import:` as a list of {source, mode?, if?}."""
    items = value if isinstance(value, list) else [value]
    out: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, str):
            item = {"source": item}
        if not isinstance(item, dict) or not isinstance(item.get("source"), str):
            msgs.add("error", "import", "invalid_type", expected="str", actual="map", value=item)
            continue
        mode = str(item.get("mode") or DEFAULT_MODE)
        if mode not in MODES:
            msgs.add("error", "import.mode", "unknown_value", value=mode)
            mode = DEFAULT_MODE
        out.append({**item, "mode": mode})
    return out


class Importer:
    """Resolves imports depth-first, skipping cycles and stopping at MAX_IMPORTS."""

    def __init__(self, import_fn: ImportFn | None, conditions: Conditions, msgs: Messages) -> None:
        self.import_fn = import_fn
        self.conditions = conditions
        self.msgs = msgs
        self.seen: set[str] = set()
        self.count = 0

    def resolve(self, config: dict[str, Any], parent: str | None) -> dict[str, Any]:
        """`config` with its imports merged in (the importing config wins)."""
        if "import" not in config:
            return config
        config = dict(config)
        entries = import_entries(config.pop("import"), self.msgs)
        chain: list[tuple[dict[str, Any], str]] = [(config, DEFAULT_MODE)]
        for entry in entries:
            imported = self._fetch(entry, config, parent)
            if imported is not None:
                chain.append((self.resolve(imported, entry["source"]), entry["mode"]))
        # Right to left: each part is merged over everything imported after it, using the
        # mode of the part on its right; the importing config (first) wins last.
        result, right_mode = chain[-1]
        for part, mode in reversed(chain[:-1]):
            result = merge(part, result, right_mode)
            right_mode = mode
        return result

    def _fetch(
        self, entry: dict[str, Any], config: dict[str, Any], parent: str | None
    ) -> dict[str, Any] | None:
        source = entry["source"]
        if entry.get("if") is not None:
            data = self.conditions.stage_data(config)
            if not self.conditions.check(entry["if"], data, "import.if"):
                self.msgs.add("info", "import", "skip_import", source=source,
                              condition=text_of(entry["if"]))  # fmt: skip
                return None
        if source in self.seen:
            return None  # a cycle, or the same file twice: Travis imports it once
        if self.count >= MAX_IMPORTS:
            self.msgs.add("error", "import", "too_many_imports", max=MAX_IMPORTS)
            return None
        self.seen.add(source)
        self.count += 1
        text = self._call(source, parent)
        if text == "":
            return None  # already reported
        if text is None:
            self.msgs.add("error", "import", "unknown_import", source=source)
            return None
        loaded = load(text)
        if not loaded.ok or not isinstance(loaded.config, dict):
            self.msgs.add("error", "import", "invalid_import", source=source)
            return None
        return loaded.config

    def _call(self, source: str, parent: str | None) -> str | None:
        """The fetched text, None when not found, "" when a message was already given."""
        if self.import_fn is None:
            self.msgs.add("warn", "import", "import_not_resolved", source=source)
            return ""
        try:
            return self.import_fn(source, parent)
        except Exception as exc:  # the fetcher's failure is the user's message, not a crash
            self.msgs.add("error", "import", "import_failed", source=source, error=str(exc))
            return ""


def merge_request_config(
    config: dict[str, Any], request: dict[str, Any], msgs: Messages
) -> dict[str, Any]:
    """An API request's `config` merged over `.travis.yml` with its `merge_mode`."""
    extra = request.get("config")
    if isinstance(extra, str):
        loaded = load(extra)
        msgs.items.extend(loaded.messages.items)
        extra = loaded.config
    if not isinstance(extra, dict):
        return config
    mode = str(request.get("merge_mode") or DEFAULT_MODE)
    if mode not in MODES:
        msgs.add("error", "merge_mode", "unknown_value", value=mode)
        mode = DEFAULT_MODE
    return merge(extra, config, mode)
