"""The crowd language both ways: a tree written as text (with only the parentheses it needs) reads back as the
same tree, for random trees of every node kind, quotes, keys, fractions and behaviour counts included."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from aipl.audience import parse, to_text

values = st.integers(-10**6, 10**6) | st.floats(-1e6, 1e6, allow_nan=False).filter(lambda x: x != int(x)) \
    | st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\"'"), max_size=8) \
    | st.sampled_from(['it"s', "it's", "交", ""])
leaves = st.one_of(
    st.builds(lambda t, op, v: {"tag": t, "key": None, "op": op, "value": v},
              st.sampled_from(["age", "gender", "city_tier"]), st.sampled_from(["=", "!=", "<", "<=", ">", ">="]),
              values),
    st.builds(lambda k, vs: {"tag": "aipl", "key": k, "op": "in", "value": vs}, st.sampled_from(["B01", "x y", 7]),
              st.lists(values, min_size=1, max_size=3)),
    st.builds(lambda lo, d: {"tag": "age", "key": None, "op": "between", "value": [lo, lo + d]},
              st.integers(0, 90), st.integers(0, 30)),
    st.builds(lambda e, d, n: {"count": {"event": e, "days": d}, "op": ">=", "value": n},
              st.sampled_from(["purchase", "add_to_cart"]), st.integers(1, 365), st.integers(0, 9)),
    st.builds(lambda k, n: {k: n}, st.sampled_from(["crowd", "list"]), st.sampled_from(["young", "recall_30"])),
)
trees = st.recursive(leaves, lambda kids: st.one_of(
    st.builds(lambda xs: {"and": xs}, st.lists(kids, min_size=2, max_size=4)),
    st.builds(lambda xs: {"or": xs}, st.lists(kids, min_size=2, max_size=3)),
    st.builds(lambda a, b: {"minus": [a, b]}, kids, kids),
    st.builds(lambda a: {"not": a}, kids)), max_leaves=8)


@settings(max_examples=150, deadline=None)
@given(trees)
def test_a_tree_written_as_text_reads_back_as_the_same_tree(tree):
    text = to_text(tree)
    assert parse(text) == tree
    assert to_text(parse(text)) == text
