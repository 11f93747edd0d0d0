"""Serializer fields with the bounds of the columns they end up in.

An unbounded IntegerField lets a 30-digit number through to the database, where it
overflows the column (PostgreSQL refuses it, SQLite raises OverflowError): a server error
instead of a 400 that names the field.
"""

from rest_framework import serializers

# PositiveIntegerField (revisions, positions, spans) is a 32-bit column on PostgreSQL.
POSITIVE_INT_MAX = 2_147_483_647
# Ids are BigAutoField; the URL converter allows at most 18 digits, and so do these fields.
ID_MAX = 999_999_999_999_999_999
# Scores and marker values are IntegerField columns (32-bit on PostgreSQL).
INT_MIN, INT_MAX = -2_147_483_648, 2_147_483_647


class IdField(serializers.IntegerField):
    """The id of a row: a positive integer of at most 18 digits."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", ID_MAX)
        super().__init__(**kwargs)


class CountField(serializers.IntegerField):
    """A revision, position or character offset: 0 up to the 32-bit column's maximum."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 0)
        kwargs.setdefault("max_value", POSITIVE_INT_MAX)
        super().__init__(**kwargs)


class ScoreField(serializers.IntegerField):
    """A rating or marker value: the range of a 32-bit integer column (the codebook's scale
    is checked by the service)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", INT_MIN)
        kwargs.setdefault("max_value", INT_MAX)
        super().__init__(**kwargs)
