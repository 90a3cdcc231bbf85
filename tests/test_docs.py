"""The docs point at tests that exist: a renamed test must update the security table."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REF = re.compile(r"`([\w/]+\.py)(?:::(\w+))?")


def test_every_test_named_in_security_md_exists() -> None:
    text = (ROOT / "docs" / "security.md").read_text()
    refs = REF.findall(text)
    assert len(refs) > 30
    current = None
    for path, name in refs:
        file = ROOT / "tests" / path
        assert file.exists(), f"docs/security.md names missing file tests/{path}"
        current = file.read_text()
        if name:
            assert f"def {name}(" in current, f"tests/{path} has no test {name}"


def test_security_md_continuations_name_real_tests() -> None:
    """`::test_x` right after a full reference belongs to the same file."""
    text = (ROOT / "docs" / "security.md").read_text()
    for cell in re.findall(r"\|([^|]*)\|\s*$", text, flags=re.MULTILINE):
        file = None
        for match in re.finditer(r"`([\w/]+\.py)?::?(\w+)?(\[[^\]]*\])?`", cell):
            path, name = match.group(1), match.group(2)
            if path:
                file = ROOT / "tests" / path
            if name and file is not None:
                assert f"def {name}(" in file.read_text(), f"{file} has no test {name}"
