"""URL converter for row ids: a positive integer that fits the database's bigint keys.

Django's `int` converter accepts any number of digits, and a 30-digit id overflows the
database column when it reaches a query (SQLite raises OverflowError, PostgreSQL refuses
it). An id of more than 18 digits cannot name a row, so such a URL does not match at all
and the caller gets a plain 404.
"""

from django.urls import register_converter


class IdConverter:
    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(int(value))


# Imported for its side effect by every urls module that uses <id:...>; the module cache
# makes the registration happen once.
register_converter(IdConverter, "id")
