"""Parser for v1 of Travis's `if:` conditions language, producing tuple parse trees.

Scanner-based recursive descent that follows Travis's own tokenisation rules, quirks included.
"""

from __future__ import annotations

import re

from .conditions_common import VARS, ConditionError, Node, quote

_CONTINUATION = re.compile(r"\\\s*[\n\r]")
_SPACE = re.compile(r"\s*")
_OR = re.compile(r"or|\|\|", re.I)
_AND = re.compile(r"and|&&", re.I)
# "!" is NOT only when it is not the start of "!=" or "!~". Unlike Travis, the word NOT must end
# there, so a value such as `nothing` is not read as NOT followed by `hing`.
_NOT = re.compile(r"not(?![\w-])|!(?![=~])", re.I)
_FUNC = re.compile(r"(env|concat)\s*\(", re.I)
_IN = re.compile(r"in|not in", re.I)
_IS = re.compile(r"is not|is", re.I)
_PRED = re.compile(r"present|blank|true|false", re.I)
_MATCH_OP = re.compile(r"=~|~=|!~")
_EQ_OP = re.compile(r"==|=|!=")
# A bare word stops at whitespace, parentheses, quotes, commas, "=" and "!".
_WORD = re.compile(r"[^\s()\"',=!]+")
# An unwrapped regex runs to the next whitespace and never ends with ")".
_BARE_REGEX = re.compile(r"\S*[^\s)]+")
# A variable name only counts as one when one of these (or the end) follows it. Travis leaves
# out "!", which turns `branch!=x` into a comparison of the literal word "branch" that is
# always true; Roundhouse deliberately reads it as the variable instead.
_BOUNDARY = frozenset(" \t\n\r\f\v,=)|!")

_OPS = {"=": "eq", "==": "eq", "!=": "not_eq", "=~": "match", "~=": "match", "!~": "not_match"}

SHELL_VAR = (
    "Strings cannot start with a dollar (shell code does not work). "
    "This can be bypassed by quoting the string."
)


def parse_v1(expr: str) -> Node:
    """Parse a v1 condition into its tree; raises ConditionError when it is not valid."""
    return _Parser(expr).parse()


class _Parser:
    def __init__(self, expr: str) -> None:
        # Backslash-newline continues a line; Travis replaces it by a space.
        self.src = _CONTINUATION.sub(" ", expr)
        self.pos = 0

    # -- helpers -----------------------------------------------------------------------------

    def fail(self, what: str) -> ConditionError:
        return ConditionError(f"expected {what} at position {self.pos} in: {quote(self.src)}")

    def skip_space(self) -> None:
        match = _SPACE.match(self.src, self.pos)
        self.pos = match.end() if match else self.pos

    def scan(self, pattern: re.Pattern[str]) -> str | None:
        """Skip whitespace, then consume `pattern` if it matches here."""
        self.skip_space()
        match = pattern.match(self.src, self.pos)
        if match is None:
            return None
        self.pos = match.end()
        return match.group(0)

    def accept(self, char: str) -> bool:
        self.skip_space()
        if self.src.startswith(char, self.pos):
            self.pos += len(char)
            return True
        return False

    # -- boolean structure -------------------------------------------------------------------

    def parse(self) -> Node:
        tree = self.disjunction()
        self.skip_space()
        if self.pos < len(self.src):
            rest = self.src[self.pos :]
            raise ConditionError(
                f"Could not parse {quote(self.src)}: unexpected {quote(rest)} "
                f"at position {self.pos}"
            )
        return tree

    def disjunction(self) -> Node:
        node = self.conjunction()
        while self.scan(_OR):
            node = ("or", node, self.conjunction())
        return node

    def conjunction(self) -> Node:
        node = self.factor()
        while self.scan(_AND):
            node = ("and", node, self.factor())
        return node

    def factor(self) -> Node:
        if self.accept("("):
            node = self.disjunction()
            if not self.accept(")"):
                raise self.fail("')'")
            return node
        if self.scan(_NOT):
            return ("not", self.factor())
        return self.term()

    # -- terms -------------------------------------------------------------------------------

    def term(self) -> Node:
        left = self.operand()
        op = self.scan(_IN)
        if op:
            return (op.lower().replace(" ", "_"), left, self.in_list())
        op = self.scan(_IS)
        if op:
            return self.predicate(op, left)
        op = self.scan(_MATCH_OP)
        if op:
            return (_OPS[op], left, self.regex())
        op = self.scan(_EQ_OP)
        if op:
            return (_OPS[op], left, self.operand())
        return left

    def predicate(self, op: str, left: Node) -> Node:
        pred = self.scan(_PRED)
        if pred is None:
            raise self.fail("present, blank, true or false")
        return (op.lower().replace(" ", "_"), left, pred.lower())

    def in_list(self) -> tuple[Node, ...]:
        if not self.accept("("):
            raise self.fail("'(' and a list of values")
        items = self.items()
        if not items:
            raise self.fail("a list of values")
        if not self.accept(")"):
            raise self.fail("')'")
        return items

    def items(self) -> tuple[Node, ...]:
        """Comma separated operands; a trailing comma is tolerated as in Travis."""
        items: list[Node] = []
        while True:
            item = self.maybe_operand()
            if item is None:
                break
            items.append(item)
            if not self.accept(","):
                break
        return tuple(items)

    def regex(self) -> Node:
        call = self.call()
        if call is not None:
            return ("reg", call)
        self.skip_space()
        source = self.regex_source()
        if not source:
            raise self.fail("a regular expression")
        self.pos += len(source)
        return ("reg", re.sub(r"^/|/$", "", source, flags=re.M))

    def regex_source(self) -> str:
        """The regex text as written, including its slashes when it is wrapped in /…/."""
        rest = self.src[self.pos :]
        if not rest.startswith("/"):
            match = _BARE_REGEX.match(rest)
            return match.group(0) if match else ""
        # Wrapped: up to the first "/" not preceded by a backslash, or to the end of input.
        escaped = False
        for index in range(1, len(rest)):
            char = rest[index]
            if char == "/" and not escaped:
                return rest[: index + 1]
            # Any backslash (even an escaped one) protects the next character, as in Travis.
            escaped = char == "\\"
        return rest

    # -- operands ----------------------------------------------------------------------------

    def operand(self) -> Node:
        node = self.maybe_operand()
        if node is None:
            raise self.fail("an operand")
        return node

    def maybe_operand(self) -> Node | None:
        self.skip_space()
        node = self.var() or self.call() or self.val()
        self.skip_space()
        return node

    def var(self) -> Node | None:
        for name in VARS:
            end = self.pos + len(name)
            if self.src.startswith(name, self.pos) and self.at_boundary(end):
                self.pos = end
                return ("var", name)
        return None

    def at_boundary(self, index: int) -> bool:
        return index >= len(self.src) or self.src[index] in _BOUNDARY

    def call(self) -> Node | None:
        self.skip_space()
        match = _FUNC.match(self.src, self.pos)
        if match is None:
            return None
        self.pos = match.end()
        args = self.items()
        if not self.accept(")"):
            raise self.fail("')'")
        return ("call", match.group(1).lower(), args)

    def val(self) -> Node | None:
        char = self.src[self.pos : self.pos + 1]
        if char in ("'", '"'):
            return ("val", self.quoted(char))
        match = _WORD.match(self.src, self.pos)
        if match is None:
            return None
        if match.group(0).startswith("$"):
            raise ConditionError(SHELL_VAR)
        self.pos = match.end()
        return ("val", match.group(0))

    def quoted(self, mark: str) -> str:
        """A quoted string has no escapes: it runs to the next identical quote."""
        end = self.src.find(mark, self.pos + 1)
        if end < 0:
            self.pos = len(self.src)
            raise self.fail(f"closing {mark}")
        text = self.src[self.pos + 1 : end]
        self.pos = end + 1
        return text
