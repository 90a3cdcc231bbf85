"""Route parameters that name database rows: positive whole numbers a BIGINT can hold.

Starlette's ``int`` convertor takes any run of digits, and an id beyond 2^63 - 1 made the
database driver raise (a 500 with a traceback). An ``{name:id}`` parameter matches 1 to 18
digits, so anything longer finds no route: a plain 404."""

from __future__ import annotations

from starlette.convertors import Convertor, register_url_convertor


class RowId(Convertor[int]):
    regex = "[1-9][0-9]{0,17}"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(value)


register_url_convertor("id", RowId())
