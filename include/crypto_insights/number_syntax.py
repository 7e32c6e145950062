"""The one number syntax of the project: what counts as a number in a price, size or notional string.

The edge reduction counts a level only when its price and size match it (`landing/reduce.py`), and dbt's
`is_decimal_string` macro receives the same pattern through the `crypto_insights` var, so the levels the edge
counts are exactly the levels dbt keeps. The pattern is written in the subset both Python's `re` and
PostgreSQL's regular expressions read the same way: an optional sign, digits with an optional point (or a point
and digits), an optional exponent of at most three digits, surrounding ASCII whitespace.
"""

DECIMAL_SYNTAX = r"[ \t\n\r\f\v]*[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?[ \t\n\r\f\v]*"
