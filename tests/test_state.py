"""What a server process does as it starts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from server.app import create_app
from server.core import wordfold
from tests.support.config import settings_for


async def test_word_filter_tables_are_built_when_the_app_starts(
    backend_db: str, tmp_path: Path
) -> None:
    # Built on the first text beyond ASCII instead, they held up every request meanwhile.
    wordfold._tables.cache_clear()
    app = create_app(settings_for(backend_db, tmp_path))
    async with app.router.lifespan_context(app):
        assert wordfold._tables.cache_info().currsize == 1


def test_importing_the_word_filters_builds_nothing() -> None:
    code = (
        "import sys, server.core.wordfold as w; "
        "print(w._tables.cache_info().currsize, 'confusable_homoglyphs' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["0", "False"]
