"""The crowd language: a readable text form and the equivalent JSON tree.

    city_tier in (3,4,5,6) and age between 18 and 30 and active_days_30d >= 10 and not aipl(brand="B") = "P"
    count(event="add_to_cart", brand="B", days=30) >= 2 or crowd("recall_30")
    gender = "F" minus member(brand="B") = "yes"

Grammar (lowest precedence first; 并 / 交 / 差 may stand for or / and / minus):

    expr    := minus ("or" minus)*
    minus   := and ("minus" and)*                      A minus B = A and not B
    and     := unary ("and" unary)*
    unary   := "not" unary | "(" expr ")" | "crowd" "(" STRING ")" | "list" "(" STRING ")" | leaf
    leaf    := tag [ "(" args ")" ] test | "count" "(" args ")" cmp NUMBER
    test    := cmp value | "in" "(" value ("," value)* ")" | "between" NUMBER "and" NUMBER
    cmp     := "=" | "!=" | "<" | "<=" | ">" | ">="
    args    := NAME "=" value ("," NAME "=" value)*
    value   := NUMBER | STRING

crowd("name") is a saved or built-in crowd; list("name") a saved consumer list (recall lists, uplift targets,
lookalikes). Trees: {"and": [..]}, {"or": [..]}, {"minus": [a, b]}, {"not": x}, {"crowd": name}, {"list": name},
{"tag": name, "key": k | None, "op": op, "value": v} and {"count": {"event": …, "brand": …, "category": …,
"days": n}, "op": op, "value": n}.
"""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal

from aipl.audience.tags import CATALOGUE

OPS = ("=", "!=", "<", "<=", ">", ">=")
COUNT_ARGS = {"event", "brand", "category", "channel", "days"}
MAX_DEPTH = 64  # nested groups, `not`s and operators: deeper is refused, never a RecursionError
MAX_NODES = 500  # tests and operators in one expression
MAX_DAYS = 36_500  # count(…, days=n): from 1 to a hundred years
MAX_NUMBER = 1e15  # numbers compared with: beyond this, a mistake
KEYWORDS = {"and": "and", "交": "and", "or": "or", "并": "or", "minus": "minus", "差": "minus", "not": "not",
            "in": "in", "between": "between"}
_NAME = re.compile(r"(?!(?i:and|or|minus|not|in|between)$)(?!(?:count|crowd|list)$)[A-Za-z_][A-Za-z_0-9]*")  # a tag
_TOKEN = re.compile(r"""\s*(?:(?P<num>-?\d+(?:\.\d+)?)|(?P<str>"[^"]*"|'[^']*')|(?P<op><=|>=|!=|[=<>(),])|"""
                    r"""(?P<name>[A-Za-z_][A-Za-z_0-9]*|[交并差]))""")


class CrowdSyntaxError(ValueError):
    """A crowd expression that does not parse: where (`pos`, from 0), what was `expected` and what was `found`.
    It is a ValueError whose message points at the column.

    >>> from aipl.audience import CrowdSyntaxError, parse
    >>> try:
    ...     parse("age >")
    ... except CrowdSyntaxError as exc:
    ...     print(exc.pos, repr(exc.expected), isinstance(exc, ValueError))
    ...     print(exc)
    5 'a number or a string' True
    at column 6: expected a number or a string, found the end of the expression
      age >
           ^
    """

    def __init__(self, text: str, pos: int, expected: str, found: str):
        self.text, self.pos, self.expected, self.found = text, pos, expected, found
        super().__init__(f"at column {pos + 1}: expected {expected}, found {found}\n  {text}\n  {' ' * pos}^")


def _tokens(text: str) -> list[tuple[str, object, int]]:
    out, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            start = len(text) - len(text[pos:].lstrip())
            raise CrowdSyntaxError(text, start, "a name, number, string, operator or parenthesis",
                                   repr(text[start]))
        start = m.start(m.lastgroup)
        kind, raw = m.lastgroup, m.group(m.lastgroup)
        if kind == "num":
            out.append(("num", float(raw) if "." in raw else int(raw), start))
        elif kind == "str":
            out.append(("str", raw[1:-1], start))
        elif kind == "name" and (raw.lower() in KEYWORDS or raw in KEYWORDS):
            out.append(("kw", KEYWORDS.get(raw.lower(), KEYWORDS.get(raw)), start))
        else:
            out.append((kind, raw, start))
        pos = m.end()
    out.append(("end", None, len(text)))
    return out


class _Parser:
    def __init__(self, text: str):
        self.text, self.toks, self.i, self.depth = text, _tokens(text), 0, 0

    def peek(self):
        return self.toks[self.i]

    def take(self):
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def fail(self, expected: str):
        kind, val, pos = self.peek()
        found = "the end of the expression" if kind == "end" else repr(val) if kind != "str" else f'"{val}"'
        raise CrowdSyntaxError(self.text, pos, expected, found)

    def expect(self, kind: str, val=None, what: str | None = None):
        k, v, _ = self.peek()
        if k != kind or (val is not None and v != val):
            self.fail(what or repr(val))
        return self.take()[1]

    def is_kw(self, word: str) -> bool:
        k, v, _ = self.peek()
        return k == "kw" and v == word

    def parse(self) -> dict:
        tree = self.expr()
        if self.peek()[0] != "end":
            self.fail("'and', 'or', 'minus' or the end")
        return tree

    def expr(self) -> dict:
        parts = [self.minus()]
        while self.is_kw("or"):
            self.take()
            parts.append(self.minus())
        return parts[0] if len(parts) == 1 else {"or": parts}

    def minus(self) -> dict:
        left = self.conj()
        while self.is_kw("minus"):
            self.take()
            left = {"minus": [left, self.conj()]}
        return left

    def conj(self) -> dict:
        parts = [self.unary()]
        while self.is_kw("and"):
            self.take()
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else {"and": parts}

    def unary(self) -> dict:
        k, v, pos = self.peek()
        if k in ("kw", "op") and v in ("not", "("):
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise CrowdSyntaxError(self.text, pos, f"at most {MAX_DEPTH} nested groups", "more")
            self.take()
            tree = {"not": self.unary()} if v == "not" else self.expr()
            if v == "(":
                self.expect("op", ")", "')'")
            self.depth -= 1
            return tree
        if k == "name" and v in ("crowd", "list") and self.toks[self.i + 1][:2] == ("op", "("):
            self.take()
            self.expect("op", "(", f"'(' after {v}")
            name = self.expect("str", what=f"a {v} name in quotes")
            self.expect("op", ")", "')'")
            return {v: name}
        if k == "name":
            return self.leaf()
        self.fail("a tag, 'not', '(' or crowd(\"name\")")

    def args(self) -> dict:
        out = {}
        while True:
            name = self.expect("name", what="an argument name")
            self.expect("op", "=", "'=' after the argument name")
            if self.peek()[0] not in ("num", "str"):
                self.fail("a number or a string")
            out[name] = self.take()[1]
            if self.peek()[:2] == ("op", ","):
                self.take()
                continue
            self.expect("op", ")", "',' or ')'")
            return out

    def value(self):
        if self.peek()[0] not in ("num", "str"):
            self.fail("a number or a string")
        return self.take()[1]

    def number(self):
        if self.peek()[0] != "num":
            self.fail("a number")
        return self.take()[1]

    def leaf(self) -> dict:
        pos = self.peek()[2]
        tree = self._leaf()
        problem = _leaf_problem(tree)
        if problem:
            raise CrowdSyntaxError(self.text, pos, problem, repr(to_text(tree)))
        return tree

    def _leaf(self) -> dict:
        _, name, pos = self.take()
        args = {}
        if self.peek()[:2] == ("op", "("):
            self.take()
            args = self.args()
        if name == "count":
            bad = sorted(set(args) - COUNT_ARGS)
            if bad or "event" not in args or "days" not in args:
                raise CrowdSyntaxError(self.text, pos, "count(event=…, days=…[, brand=…, category=…, channel=…])",
                                       f"count({', '.join(args)})")
            op = self.cmp()
            return {"count": args, "op": op, "value": self.number()}
        if len(args) > 1:
            raise CrowdSyntaxError(self.text, pos, "one key argument such as brand=\"B\"", f"{len(args)} arguments")
        key = next(iter(args.values()), None)
        if self.is_kw("in"):
            self.take()
            self.expect("op", "(", "'(' after in")
            vals = [self.value()]
            while self.peek()[:2] == ("op", ","):
                self.take()
                vals.append(self.value())
            self.expect("op", ")", "',' or ')'")
            return {"tag": name, "key": key, "op": "in", "value": vals}
        if self.is_kw("between"):
            self.take()
            lo = self.number()
            if not self.is_kw("and"):
                self.fail("'and' in between … and …")
            self.take()
            return {"tag": name, "key": key, "op": "between", "value": [lo, self.number()]}
        op = self.cmp()
        return {"tag": name, "key": key, "op": op, "value": self.value()}

    def cmp(self) -> str:
        k, v, _ = self.peek()
        if k != "op" or v not in OPS:
            self.fail("a comparison (=, !=, <, <=, >, >=, in, between)")
        return self.take()[1]


def parse(text: str) -> dict:
    """The JSON tree of a crowd expression; CrowdSyntaxError says where and what was expected.

    >>> from aipl.audience import parse
    >>> parse('age between 18 and 30 and gender = "F"')["and"][0]
    {'tag': 'age', 'key': None, 'op': 'between', 'value': [18, 30]}
    >>> parse('gender = "F" minus member(brand="B01") = "yes"')["minus"][1]
    {'tag': 'member', 'key': 'B01', 'op': '=', 'value': 'yes'}
    >>> parse('count(event="purchase", days=30) >= 2 or crowd("recall_30")')
    {'or': [{'count': {'event': 'purchase', 'days': 30}, 'op': '>=', 'value': 2}, {'crowd': 'recall_30'}]}
    """
    if not isinstance(text, str) or not text.strip():
        raise CrowdSyntaxError(text if isinstance(text, str) else "", 0, "a crowd expression", "nothing")
    tree = _Parser(text).parse()
    check(tree)  # the whole: its size
    return tree


def _number(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and abs(v) <= MAX_NUMBER


def _value(v) -> bool:
    return _number(v) or (isinstance(v, str) and len(v) <= 200 and not ('"' in v and "'" in v))


def _leaf_problem(tree: dict) -> str | None:
    """What is wrong with a tag test or a behaviour count (None when it is well formed)."""
    op, value = tree.get("op"), tree.get("value")
    if "count" in tree:
        args = tree["count"]
        if not isinstance(args, dict) or set(args) - COUNT_ARGS or not {"event", "days"} <= set(args):
            return "count(event=…, days=…[, brand=…, category=…, channel=…])"
        days = args["days"]
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
            return f"days a whole number from 1 to {MAX_DAYS}"
        if any(not isinstance(args[k], str) or not args[k] or not _value(args[k]) for k in args if k != "days"):
            return "event, brand, category and channel as strings"
        if op not in OPS or not _number(value):
            return "a comparison (=, !=, <, <=, >, >=) with a number"
        return None
    if not isinstance(tree.get("tag"), str) or not _NAME.fullmatch(tree["tag"]) or set(tree) - {"tag", "key", "op",
                                                                                               "value"}:
        return 'a tag test {"tag": name, "key": k or null, "op": op, "value": v}'
    if tree.get("key") is not None and not _value(tree["key"]):
        return "a key that is a string or a number"
    if op == "in":
        return None if isinstance(value, list) and 0 < len(value) <= 1000 and all(map(_value, value)) else \
            "in (…) with one to 1000 numbers or strings"
    if op == "between":
        if not (isinstance(value, list) and len(value) == 2 and all(map(_number, value))):
            return "between two numbers"
        return None if value[0] <= value[1] else f"between a low and a high number ({value[0]} > {value[1]})"
    if op not in OPS:
        return "a comparison (=, !=, <, <=, >, >=, in, between)"
    return None if _value(value) else f"a number (at most {MAX_NUMBER:.0e}) or a string"


def check(tree: object) -> dict:
    """`tree` if it is a well-formed crowd tree (the JSON form of an expression); a ValueError naming the
    node at fault and why otherwise: a wrong type, an empty `or`, `days` that is not a whole number from 1 to
    36500, a reversed `between`, nesting deeper than MAX_DEPTH.

    >>> from aipl.audience.lang import check
    >>> check({"or": [{"crowd": "young"}, {"list": "recall"}]})
    {'or': [{'crowd': 'young'}, {'list': 'recall'}]}
    >>> check({"or": []})
    Traceback (most recent call last):
    ValueError: crowd tree at or: expected a list of at least one crowd tree, found []
    >>> check({"count": {"event": "purchase", "days": -5}, "op": ">=", "value": 1})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: crowd tree at top: expected days a whole number from 1 to 36500, found {'count': {...'days': -5}...
    """
    todo, nodes = [(tree, "", 0)], 0
    while todo:
        node, where, depth = todo.pop()
        nodes += 1
        if depth > MAX_DEPTH or nodes > MAX_NODES:
            raise ValueError(f"the crowd tree has more than {MAX_DEPTH} levels or {MAX_NODES} nodes")
        kind = next(iter(node), None) if isinstance(node, dict) else None
        if kind in ("and", "or", "minus") and len(node) == 1:
            parts = node[kind]
            ok = isinstance(parts, list) and (len(parts) == 2 if kind == "minus" else len(parts) >= 1)
            _require(ok, where or kind, "a list of two crowd trees" if kind == "minus" else
                     "a list of at least one crowd tree", parts)
            todo += [(p, f"{where}{'.' if where else ''}{kind}[{i}]", depth + 1) for i, p in enumerate(parts)]
        elif kind == "not" and len(node) == 1:
            todo.append((node["not"], f"{where}{'.' if where else ''}not", depth + 1))
        elif kind in ("crowd", "list") and len(node) == 1:
            name = node[kind]
            _require(isinstance(name, str) and 0 < len(name) <= 200, where or kind, f"a {kind} name", name)
        elif isinstance(node, dict) and ("tag" in node or "count" in node):
            problem = _leaf_problem(node)
            _require(problem is None, where or "top", problem, node)
        else:
            _require(False, where or "top", 'one of {"and": […]}, {"or": […]}, {"minus": [a, b]}, {"not": …}, '
                     '{"crowd": name}, {"list": name}, a tag test or a count', node)
    return tree


def _require(ok: bool, where: str, expected: str | None, found: object) -> None:
    if not ok:
        shown = repr(found)
        raise ValueError(f"crowd tree at {where}: expected {expected}, found {shown[:120]}"
                         f"{'…' if len(shown) > 120 else ''}")


def from_json(text: str) -> dict:
    """The crowd tree written as JSON text, checked (`check`); a ValueError saying what is wrong otherwise.

    >>> from aipl.audience.lang import from_json
    >>> from_json('{"not": {"crowd": "young"}}')
    {'not': {'crowd': 'young'}}
    >>> from_json('{"and": [') # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: the crowd tree is not valid JSON: ...
    """
    try:
        tree = json.loads(text)
    except RecursionError:
        raise ValueError(f"the crowd tree is nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:
        raise ValueError(f"the crowd tree is not valid JSON: {exc}") from None
    return check(tree)


def _lit(v) -> str:
    if isinstance(v, str):
        return f"'{v}'" if '"' in v else f'"{v}"'  # the language has no escapes: the other quote (check refuses both)
    text = repr(v)
    return format(Decimal(text), "f") if "e" in text or "E" in text else text  # 1e-05 reads as 0.00001


_PREC = {"or": 0, "minus": 1, "and": 2, "not": 3}  # how tightly each operator binds (leaves: 4)


def _prec(tree: dict) -> int:
    return next((p for op, p in _PREC.items() if op in tree), 4)


def _part(tree: dict, tighter_than: int) -> str:
    """A sub-tree, in parentheses unless it binds tighter than `tighter_than`."""
    text = to_text(tree)
    return text if _prec(tree) > tighter_than else f"({text})"


def to_text(tree: dict) -> str:
    """The text form of a tree, with only the parentheses it needs (parse(to_text(t)) == t for every tree that
    `parse` gives).

    >>> from aipl.audience import parse, to_text
    >>> tree = parse('city_tier in (3,4,5,6) and not aipl(brand="B01") = "P"')
    >>> to_text(tree)
    'city_tier in (3, 4, 5, 6) and not aipl(brand="B01") = "P"'
    >>> to_text({"and": [{"or": [{"crowd": "a"}, {"crowd": "b"}]}, {"not": {"crowd": "c"}}]})
    '(crowd("a") or crowd("b")) and not crowd("c")'
    >>> parse(to_text(tree)) == tree
    True
    """
    if "and" in tree or "or" in tree:
        op = "and" if "and" in tree else "or"
        return f" {op} ".join(_part(p, _PREC[op]) for p in tree[op])  # a nested and/or keeps its parentheses
    if "minus" in tree:
        a, b = tree["minus"]
        return f"{_part(a, _PREC['minus'] - 1)} minus {_part(b, _PREC['minus'])}"  # left-associative
    if "not" in tree:
        return f"not {_part(tree['not'], _PREC['not'] - 1)}"
    if "crowd" in tree or "list" in tree:
        kind = "crowd" if "crowd" in tree else "list"
        return f"{kind}({_lit(tree[kind])})"
    if "count" in tree:
        args = ", ".join(f"{k}={_lit(v)}" for k, v in tree["count"].items())
        return f"count({args}) {tree['op']} {_lit(tree['value'])}"
    key = ""
    if tree.get("key") is not None:
        kname = CATALOGUE[tree["tag"]].key if tree["tag"] in CATALOGUE else "key"
        key = f"({kname}={_lit(tree['key'])})"
    head = f"{tree['tag']}{key}"
    if tree["op"] == "in":
        return f"{head} in ({', '.join(_lit(v) for v in tree['value'])})"
    if tree["op"] == "between":
        return f"{head} between {_lit(tree['value'][0])} and {_lit(tree['value'][1])}"
    return f"{head} {tree['op']} {_lit(tree['value'])}"
