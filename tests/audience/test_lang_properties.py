"""Random crowd expressions and random JSON never crash the crowd language (issue 19, class 10): what comes in is
either a clear ValueError (a CrowdSyntaxError for text, saying where) or a tree that counts."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyroaring import FrozenBitMap as F

from aipl.audience import CrowdSyntaxError, TagIndex, crowd_tree, parse, to_text
from aipl.audience.lang import MAX_DAYS, check

INDEX = TagIndex({("gender", None): {"F": F([1, 2, 3]), "M": F([4, 5])},
                  ("age", None): {25: F([1, 4]), 40: F([2, 3, 5])},
                  ("aipl", "B01"): {"A": F([1]), "P": F([2, 3])}}, universe=F(range(1, 7)), day=None)
TOKENS = ["age", "gender", "aipl", "count", "crowd", "list", "and", "or", "minus", "not", "in", "between", "交", "并",
          "(", ")", ",", "=", "!=", "<", "<=", ">", ">=", '"F"', "'x'", '"', "brand", "event", "days", "0", "-5", "1.5",
          "30", "99999999999", "-0", "3.0", " ", "\x00", "~", "@", "é"]
texts = st.lists(st.sampled_from(TOKENS), max_size=25).map(" ".join) | st.text(max_size=60)


def _count_or_clear_error(tree: dict) -> int | None:
    """A checked tree's count on the small index; None when it needs the warehouse or names what is not there."""
    try:
        return INDEX.count(tree)
    except ValueError:
        return None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts)
def test_random_text_parses_or_says_where(text):
    try:
        tree = parse(text)
    except CrowdSyntaxError as exc:
        assert 0 <= exc.pos <= len(text) and "at column" in str(exc)
        return
    assert check(tree) is tree and parse(to_text(tree)) == tree
    n = _count_or_clear_error(tree)
    assert n is None or 0 <= n <= 6


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**20, 10**20) | st.floats() | st.text(max_size=8)
    | st.sampled_from(["age", "gender", "aipl", "and", "or", "not", ">=", "in", "between", "purchase"]),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(
        st.sampled_from(["and", "or", "minus", "not", "crowd", "list", "tag", "key", "op", "value", "count", "event",
                         "days", "brand", "x"]), kids, max_size=4),
    max_leaves=20)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_random_json_is_a_tree_or_a_clear_error(value):
    try:
        tree = crowd_tree(json.dumps(value)) if isinstance(value, dict) else crowd_tree(value) \
            if isinstance(value, str) else check(value)
    except ValueError as exc:
        assert str(exc) and "\n" not in str(exc).split("\n  ")[0]
        return
    n = _count_or_clear_error(tree)
    assert n is None or 0 <= n <= 6


BAD = {
    "(" * 250 + "age > 1" + ")" * 250: "nested groups",
    "not " * 250 + "age > 1": "nested groups",
    "age > 1 or": "a tag",
    'count(event="purchase", days=99999999999) >= 1': f"1 to {MAX_DAYS}",
    'count(event="purchase", days=-5) >= 1': f"1 to {MAX_DAYS}",
    'count(event="purchase", days=1.5) >= 1': f"1 to {MAX_DAYS}",
    'count(event="purchase", days=0) >= 1': f"1 to {MAX_DAYS}",
    "age between 30 and 18": "30 > 18",
    '{"or": []}': "at least one",
    '{"and": 5}': "at least one",
    '{"minus": [{"crowd": "a"}]}': "two crowd trees",
    '{"tag": 5}': "a tag test",
    '{"tag": "age", "op": "between", "value": [3]}': "between two numbers",
    '{"tag": "age", "op": ">", "value": NaN}': "a number",
    '{"tag": "age", "op": "~", "value": 3}': "a comparison",
    '{"count": {"event": "purchase", "days": "30"}, "op": ">=", "value": 1}': f"1 to {MAX_DAYS}",
    '{"count": {"event": "purchase", "days": true}, "op": ">=", "value": 1}': f"1 to {MAX_DAYS}",
    '{"count": {"event": "purchase", "days": 30}, "op": ">=", "value": "2"}': "with a number",
    '{"not": ' * 300 + '{"crowd": "x"}' + "}" * 300: "levels",
    "{" + "[" * 3000: "JSON",
    '{"and": [': "not valid JSON",
}


@pytest.mark.parametrize("expr", list(BAD))
def test_what_the_adversarial_pass_tried_is_a_clear_error(expr):
    with pytest.raises(ValueError, match=BAD[expr].replace("(", r"\(").replace(")", r"\)")):
        crowd_tree(expr)


def test_a_wide_in_list_is_not_expanded():
    assert INDEX.count(parse("age in (1, 99999999999)")) == 0  # once listed every number in between
