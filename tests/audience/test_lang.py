"""The crowd language: what parses to what, round trips, and malformed input with position and expectation."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aipl.audience.lang import CrowdSyntaxError, parse, to_text

CASES = {
    'city_tier in (3,4,5,6)': {"tag": "city_tier", "key": None, "op": "in", "value": [3, 4, 5, 6]},
    "age between 18 and 30": {"tag": "age", "key": None, "op": "between", "value": [18, 30]},
    'aipl(brand="B") = "P"': {"tag": "aipl", "key": "B", "op": "=", "value": "P"},
    "active_days_30d >= 10": {"tag": "active_days_30d", "key": None, "op": ">=", "value": 10},
    'not aipl(brand="B") = "P"': {"not": {"tag": "aipl", "key": "B", "op": "=", "value": "P"}},
    'count(event="add_to_cart", brand="B", days=30) >= 2': {
        "count": {"event": "add_to_cart", "brand": "B", "days": 30}, "op": ">=", "value": 2},
    'crowd("recall")': {"crowd": "recall"},
    'list("recall_30")': {"list": "recall_30"},
    "age < 20 or age > 60 and gender = 'F'": {"or": [
        {"tag": "age", "key": None, "op": "<", "value": 20},
        {"and": [{"tag": "age", "key": None, "op": ">", "value": 60},
                 {"tag": "gender", "key": None, "op": "=", "value": "F"}]}]},
    '(age < 20 or age > 60) and gender = "F"': {"and": [
        {"or": [{"tag": "age", "key": None, "op": "<", "value": 20},
                {"tag": "age", "key": None, "op": ">", "value": 60}]},
        {"tag": "gender", "key": None, "op": "=", "value": "F"}]},
    'gender = "F" minus member(brand="B") = "yes" minus age < 18': {"minus": [
        {"minus": [{"tag": "gender", "key": None, "op": "=", "value": "F"},
                   {"tag": "member", "key": "B", "op": "=", "value": "yes"}]},
        {"tag": "age", "key": None, "op": "<", "value": 18}]},
    'gender = "F" 交 age >= 30 并 city_tier = 1': {"or": [
        {"and": [{"tag": "gender", "key": None, "op": "=", "value": "F"},
                 {"tag": "age", "key": None, "op": ">=", "value": 30}]},
        {"tag": "city_tier", "key": None, "op": "=", "value": 1}]},
    "NOT age != 3.5": {"not": {"tag": "age", "key": None, "op": "!=", "value": 3.5}},
}


@pytest.mark.parametrize("text", list(CASES))
def test_parses(text):
    tree = parse(text)
    assert tree == CASES[text]
    assert parse(to_text(tree)) == tree


MALFORMED = {
    "": (1, "a crowd expression"),
    "city_tier in (3,4": (18, "',' or ')'"),
    "age between 18 30": (16, "'and' in between"),
    "age >": (6, "a number or a string"),
    "age = 1 and": (12, "a tag, 'not', '(' or crowd"),
    "(age = 1": (9, "')'"),
    "age = 1)": (8, "'and', 'or', 'minus' or the end"),
    "age ~ 3": (5, "a name, number, string"),
    "age 3": (5, "a comparison"),
    'count(event="buy") >= 1': (1, "count(event=…, days=…"),
    'aipl(brand="B", category="c") = "P"': (1, "one key argument"),
    'crowd(x)': (7, "a crowd name in quotes"),
    'age between 1 and "x"': (19, "a number"),
}


@pytest.mark.parametrize("text", list(MALFORMED))
def test_malformed_input_says_where_and_what(text):
    col, expected = MALFORMED[text]
    with pytest.raises(CrowdSyntaxError) as e:
        parse(text)
    assert e.value.pos + 1 == col, str(e.value)
    assert expected in e.value.expected
    assert f"at column {col}" in str(e.value) and "^" in str(e.value)


leaf = st.one_of(
    st.builds(lambda v: {"tag": "age", "key": None, "op": ">=", "value": v}, st.integers(0, 99)),
    st.builds(lambda v: {"tag": "gender", "key": None, "op": "=", "value": v}, st.sampled_from(["F", "M"])),
    st.builds(lambda a, b: {"tag": "city_tier", "key": None, "op": "between", "value": [a, a + b]},
              st.integers(1, 6), st.integers(0, 3)),
    st.builds(lambda b: {"tag": "aipl", "key": b, "op": "in", "value": ["A", "I"]}, st.sampled_from(["B1", "B2"])),
)
trees = st.recursive(leaf, lambda kids: st.one_of(
    st.builds(lambda xs: {"and": xs}, st.lists(kids, min_size=2, max_size=3)),
    st.builds(lambda xs: {"or": xs}, st.lists(kids, min_size=2, max_size=3)),
    st.builds(lambda a, b: {"minus": [a, b]}, kids, kids),
    st.builds(lambda a: {"not": a}, kids)), max_leaves=8)


@settings(max_examples=200, deadline=None)
@given(trees)
def test_text_and_tree_round_trip(tree):
    assert parse(to_text(tree)) == tree
