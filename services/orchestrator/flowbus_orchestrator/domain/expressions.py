r"""Step conditions: a small, safe expression language (tokenizer, recursive-descent parser, evaluator).

Grammar, lowest precedence first:

    condition  := or_expr END
    or_expr    := and_expr (("or" | "||") and_expr)*
    and_expr   := not_expr (("and" | "&&") not_expr)*
    not_expr   := ("not" | "!") not_expr | comparison
    comparison := unary [("==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not" "in") unary]
    unary      := "-" unary | primary
    primary    := NUMBER | STRING | true | false | null | PATH
                | "(" or_expr ")" | "[" [or_expr ("," or_expr)* [","]] "]"
    PATH       := IDENT ("." (IDENT | DIGITS))*          e.g. input.order.total, items.0.price

NUMBER is `12`, `1.5` or `1e3`; STRING is '...' or "..." with the escapes \\ \' \" \n \t; `True`, `False`
and `None` are accepted for true, false and null. IDENT is ASCII letters, digits and `_`, not starting with
a digit; a path may not start with a keyword (and, or, not, in, the literals), though later segments may
(`input.in`). Comparisons do not chain (`a < b < c` is an error). There are no calls, no `[]` subscripts
and no arithmetic besides unary minus. A source may have at most 2000 characters, 32 levels of nesting and
500 nodes. `!` is an alias of `not`, so `!a == b` means `not (a == b)`.

Paths are read with `Scope.lookup`. Evaluation never raises:
- an undefined path makes the smallest enclosing comparison false, or counts as false where it is used
  bare as a boolean; both record a warning. So `not missing` is true: `missing` is false, `not` flips it;
- ordering incompatible types (`'a' < 3`, `null < 1`) or `in` on a non-container is false, with a warning;
- equality is plain equality, except that booleans never equal numbers (`true == 1` is false, while
  `1 == 1.0` is true); booleans cannot be ordered;
- `and` / `or` short-circuit, so a branch that is not evaluated records no warning.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flowbus_orchestrator.domain.scope import MissingValue, Scope

MAX_SOURCE_CHARS = 2000
MAX_DEPTH = 32
MAX_NODES = 500


class ExpressionError(ValueError):
    """A condition that does not parse or is too big; `message` says what was expected and where."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


@dataclass(frozen=True)
class ConditionOutcome:
    value: bool
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Token:
    kind: str  # "value", "name", "end", or the canonical operator / keyword ("and", "==", "(", ...)
    text: str
    pos: int
    value: Any = None


# One alternative per kind of token; two-character symbols come first so "<=" is not read as "<", "=".
_TOKEN = re.compile(
    r"""(?P<space>\s+)
    | (?P<number>[0-9]+(?P<fraction>\.[0-9]+)?(?P<exponent>[eE][+-]?[0-9]+)?)
    | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
    | (?P<word>[A-Za-z_]\w*(?:\.(?:[A-Za-z_]\w*|[0-9]+)(?!\w))*)
    | (?P<symbol>==|!=|<=|>=|&&|\|\||[-<>!()\[\],])""",
    re.VERBOSE | re.ASCII | re.DOTALL,
)
_RUN = re.compile(r"\w+|.", re.ASCII | re.DOTALL)  # what an error message shows as "found"
_ALIASES = {"&&": "and", "||": "or", "!": "not"}
_KEYWORDS = frozenset({"and", "or", "not", "in"})
_LITERALS = {"true": True, "True": True, "false": False, "False": False, "null": None, "None": None}
_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "t": "\t"}
_HINTS = {"=": " (use '==')", "&": " (use '&&' or 'and')", "|": " (use '||' or 'or')"}


def _tokenize(source: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    while i < len(source):
        match = _TOKEN.match(source, i)
        if match is None:
            what = "unterminated string starting" if source[i] in "'\"" else f"unexpected {source[i]!r}"
            raise ExpressionError(f"{what} at position {i}{_HINTS.get(source[i], '')}", i)
        kind, text, end = match.lastgroup, match.group(), match.end()
        follows, head = source[end : end + 1], text.split(".")[0]
        if kind == "number" and (follows.isalnum() or follows in ("_", ".")):  # `1abc`, `1.`, `1.2.3`
            raise ExpressionError(f"invalid number {source[i : end + 1]!r} at position {i}", i)
        if kind == "word" and follows == ".":  # `a.`, `a..b`, `items.0x`
            found = repr(run.group()) if (run := _RUN.match(source, end + 1)) else "end of input"
            raise ExpressionError(f"expected a name or index at position {end + 1}, found {found}", end + 1)
        if kind == "word" and "." in text and (head in _KEYWORDS or head in _LITERALS):
            raise ExpressionError(f"{head!r} at position {i} is a keyword, not a name", i)
        if kind == "number":
            value = float(text) if match.group("fraction") or match.group("exponent") else int(text)
            tokens.append(_Token("value", text, i, value))
        elif kind == "string":
            tokens.append(_Token("value", text, i, _unescape(text, i)))
        elif kind == "symbol" or text in _KEYWORDS:
            tokens.append(_Token(_ALIASES.get(text, text), text, i))
        elif text in _LITERALS:
            tokens.append(_Token("value", text, i, _LITERALS[text]))
        elif kind == "word":  # later segments may be keywords: `input.in` is a key named "in"
            tokens.append(_Token("name", text, i, tuple(text.split("."))))
        i = end  # whitespace adds no token
    tokens.append(_Token("end", "", len(source)))
    return tokens


def _unescape(text: str, pos: int) -> str:
    def replace(match: re.Match[str]) -> str:
        if match.group(1) not in _ESCAPES:
            at = pos + 1 + match.start()
            raise ExpressionError(
                f"unknown escape {match.group()!r} at position {at} (use \\\\ \\' \\\" \\n \\t)", at
            )
        return _ESCAPES[match.group(1)]

    return re.sub(r"\\(.)", replace, text[1:-1], flags=re.DOTALL)


@dataclass(frozen=True)
class _Literal:
    value: Any


@dataclass(frozen=True)
class _Name:
    path: tuple[str, ...]


@dataclass(frozen=True)
class _List:
    items: tuple[_Node, ...]


@dataclass(frozen=True)
class _Unary:
    op: str  # "-" | "not"
    operand: _Node


@dataclass(frozen=True)
class _BoolOp:
    op: str  # "and" | "or"; n-ary, so long chains stay flat
    operands: tuple[_Node, ...]


@dataclass(frozen=True)
class _Compare:
    op: str
    left: _Node
    right: _Node


_Node = _Literal | _Name | _List | _Unary | _BoolOp | _Compare
_COMPARISONS = frozenset({"==", "!=", "<", "<=", ">", ">=", "in"})


class _Parser:
    def __init__(self, source: str) -> None:
        if len(source) > MAX_SOURCE_CHARS:
            raise ExpressionError(
                f"condition is too long: {len(source)} characters, at most {MAX_SOURCE_CHARS} are allowed",
                MAX_SOURCE_CHARS,
            )
        self.tokens = _tokenize(source)
        self.index = self.depth = self.nodes = 0
        self.names: set[str] = set()

    @property
    def tok(self) -> _Token:
        return self.tokens[self.index]

    def parse(self) -> _Node:
        node = self._or()
        if self.tok.kind != "end":
            raise self._expected("an operator or the end of the condition")
        return node

    def _advance(self) -> _Token:
        token = self.tokens[self.index]
        self.index = min(self.index + 1, len(self.tokens) - 1)
        return token

    def _expected(self, what: str) -> ExpressionError:
        found = "end of input" if self.tok.kind == "end" else repr(self.tok.text)
        return ExpressionError(f"expected {what} at position {self.tok.pos}, found {found}", self.tok.pos)

    def _node(self, node: _Node) -> _Node:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise ExpressionError(
                f"condition has more than {MAX_NODES} parts (at position {self.tok.pos})", self.tok.pos
            )
        return node

    def _enter(self, pos: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError(f"condition nests more than {MAX_DEPTH} levels deep at position {pos}", pos)

    def _or(self) -> _Node:
        return self._chain("or", self._and)

    def _and(self) -> _Node:
        return self._chain("and", self._not)

    def _chain(self, op: str, operand: Callable[[], _Node]) -> _Node:
        operands = [operand()]
        while self.tok.kind == op:
            self._advance()
            operands.append(operand())
        return operands[0] if len(operands) == 1 else self._node(_BoolOp(op, tuple(operands)))

    def _not(self) -> _Node:
        if self.tok.kind != "not":
            return self._comparison()
        self._enter(self._advance().pos)
        node = self._node(_Unary("not", self._not()))
        self.depth -= 1
        return node

    def _at_comparison(self) -> bool:
        if self.tok.kind in _COMPARISONS:
            return True
        # `not in` is two words; `!` is only an alias for the boolean `not`.
        return self.tok.text == "not" and self.tokens[self.index + 1].kind == "in"

    def _comparison(self) -> _Node:
        left = self._unary()
        if not self._at_comparison():
            return left
        op = self._advance().kind
        if op == "not":
            self._advance()
            op = "not in"
        right = self._unary()
        if self._at_comparison():
            raise self._expected("'and' or 'or' (comparisons cannot be chained)")
        return self._node(_Compare(op, left, right))

    def _unary(self) -> _Node:
        if self.tok.kind != "-":
            return self._primary()
        start = self._advance().pos
        self._enter(start)
        operand = self._unary()
        self.depth -= 1
        if isinstance(operand, _Literal) and _is_number(operand.value):
            return _Literal(-operand.value)  # fold `-2` into a literal; it replaces the node counted already
        if isinstance(operand, _Literal | _List):
            raise ExpressionError(f"'-' at position {start} needs a number", start)
        return self._node(_Unary("-", operand))

    def _primary(self) -> _Node:
        token = self.tok
        if token.kind == "value":
            self._advance()
            return self._node(_Literal(token.value))
        if token.kind == "name":
            self._advance()
            if self.tok.kind == "(":
                raise self._expected(f"an operator after {token.text!r} (function calls are not supported)")
            if self.tok.kind == "[":
                raise self._expected(f"an operator after {token.text!r} (use {token.text}.0, not [0])")
            self.names.add(token.text)
            return self._node(_Name(token.value))
        if token.kind == "(":
            self._enter(self._advance().pos)
            inner = self._or()
            if self.tok.kind != ")":
                raise self._expected("')'")
            self._advance()
            self.depth -= 1
            return inner
        if token.kind == "[":
            return self._list()
        raise self._expected("a value")

    def _list(self) -> _Node:
        self._enter(self._advance().pos)
        items: list[_Node] = []
        while self.tok.kind != "]":
            items.append(self._or())
            if self.tok.kind == ",":
                self._advance()
            elif self.tok.kind != "]":
                raise self._expected("',' or ']'")
        self._advance()
        self.depth -= 1
        return self._node(_List(tuple(items)))


class _Undefined(Exception):
    """A value that cannot be had, with the reason why; the nearest comparison or boolean counts as false."""


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_KINDS = ((int | float, "number"), (str, "string"), (list | tuple, "list"), (Mapping, "mapping"))


def _show(value: Any) -> str:
    """A value for a warning: spelled as in the language, shortened, with its kind."""
    if value is None or isinstance(value, bool):
        return "null" if value is None else str(value).lower()
    kind = next((name for types, name in _KINDS if isinstance(value, types)), type(value).__name__)
    text = repr(value)
    return f"{text if len(text) <= 40 else text[:37] + '...'} ({kind})"


def _equal(left: Any, right: Any) -> bool:
    if isinstance(left, bool) or isinstance(right, bool):  # bools are not numbers here: true != 1
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    if isinstance(left, list | tuple) and isinstance(right, list | tuple):
        return len(left) == len(right) and all(_equal(a, b) for a, b in zip(left, right, strict=True))
    if isinstance(left, Mapping) and isinstance(right, Mapping):
        return left.keys() == right.keys() and all(_equal(left[k], right[k]) for k in left)
    return bool(left == right)


def _contains(op: str, item: Any, container: Any) -> bool:
    if isinstance(container, list | tuple):
        return any(_equal(item, x) for x in container)
    if isinstance(container, str):
        if not isinstance(item, str):
            raise _Undefined(f"'{op}' on a string needs a string on the left, found {_show(item)}")
        return item in container
    if isinstance(container, Mapping):
        return any(_equal(item, key) for key in container)
    raise _Undefined(f"'{op}' needs a list, string or mapping on the right, found {_show(container)}")


_ORDER = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def _compare(op: str, left: Any, right: Any) -> bool:
    if op == "==":
        return _equal(left, right)
    if op == "!=":
        return not _equal(left, right)
    if op == "in":
        return _contains(op, left, right)
    if op == "not in":
        return not _contains(op, left, right)
    if (_is_number(left) and _is_number(right)) or (isinstance(left, str) and isinstance(right, str)):
        return bool(_ORDER[op](left, right))
    raise _Undefined(f"cannot compare {_show(left)} {op} {_show(right)}")


class _Evaluator:
    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.warnings: list[str] = []

    def truth(self, node: _Node) -> bool:
        match node:
            case _BoolOp("and", operands):
                return all(self.truth(x) for x in operands)  # generators short-circuit
            case _BoolOp(_, operands):
                return any(self.truth(x) for x in operands)
            case _Unary("not", operand):
                return not self.truth(operand)
            case _Compare(op, left, right):
                return self._guard(
                    lambda: _compare(op, self.value(left), self.value(right)), "the comparison"
                )
        return self._guard(lambda: bool(self.value(node)), "it")

    def _guard(self, compute: Callable[[], bool], subject: str) -> bool:
        """`compute()`, or false with a warning: the leaves of the boolean tree never raise."""
        try:
            return compute()
        except _Undefined as undefined:
            reason = str(undefined)
        except Exception as error:  # noqa: BLE001 - odd values in a scope must not crash the engine
            reason = f"evaluation failed ({type(error).__name__})"
        self.warnings.append(f"{reason}; {subject} counts as false")
        return False

    def value(self, node: _Node) -> Any:
        match node:
            case _Literal(value):
                return value
            case _Name(path):
                try:
                    return self.scope.lookup(path)
                except MissingValue:
                    raise _Undefined(f"{'.'.join(path)!r} is not defined") from None
            case _List(items):
                return [self.value(x) for x in items]
            case _Unary("-", operand):
                value = self.value(operand)
                if not _is_number(value):
                    raise _Undefined(f"cannot negate {_show(value)}")
                return -value
        return self.truth(node)  # a boolean used as a value, as in `(a > 1) == true`


@dataclass(frozen=True)
class Condition:
    """A parsed condition; `Condition(source)` parses and raises ExpressionError when it cannot."""

    source: str
    _root: _Node = field(init=False, repr=False, compare=False)
    _names: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parser = _Parser(self.source)
        object.__setattr__(self, "_root", parser.parse())
        object.__setattr__(self, "_names", frozenset(parser.names))

    def evaluate(self, scope: Scope) -> ConditionOutcome:
        evaluator = _Evaluator(scope)
        value = evaluator.truth(self._root)
        return ConditionOutcome(value, tuple(dict.fromkeys(evaluator.warnings)))  # in order, without repeats

    def names(self) -> frozenset[str]:
        """The dotted paths the condition reads, e.g. {"input.order.total", "priority"}."""
        return self._names


def parse_condition(source: str) -> Condition:
    """Parse `source`, or raise ExpressionError with the position of the problem."""
    return Condition(source)
