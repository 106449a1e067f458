import pytest

from nsp import queries


def test_named_blocks_are_parsed_with_their_comments_dropped():
    text = """
-- first_query --
-- What it does
SELECT 1;

-- second_query --
SELECT %(x)s;
"""
    blocks = queries.parse(text)
    assert blocks == {"first_query": "SELECT 1;", "second_query": "SELECT %(x)s;"}


def test_a_name_defined_twice_is_refused():
    with pytest.raises(ValueError, match="defined twice"):
        queries.parse("-- a --\nSELECT 1;\n-- a --\nSELECT 2;", "f.sql")
