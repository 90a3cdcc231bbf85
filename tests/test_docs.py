"""The docs point at what exists: a renamed test or module must update the docs naming it."""

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


def _named_paths(text: str) -> set[str]:
    """Paths a document names in backticks: `server/...`, `tests/...`, `widget/...`, and the
    bare module and folder names docs/architecture.md uses inside a folder's paragraph."""
    return set(re.findall(r"`((?:server|tests|widget|docs)/[\w./-]+)`", text))


def test_architecture_md_names_only_files_and_folders_that_exist() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text()
    named = _named_paths(text)
    assert len(named) >= 10
    missing = sorted(path for path in named if not (ROOT / path).exists())
    assert not missing, f"docs/architecture.md names paths that are not there: {missing}"
    # Each folder of server/ gets its paragraph, and nothing the layer test places is left out.
    folders = {p.name for p in (ROOT / "server").iterdir() if (p / "__init__.py").exists()}
    undescribed = sorted(f for f in folders if f"server/{f}" not in text)
    assert not undescribed, f"docs/architecture.md says nothing of: {undescribed}"


def test_architecture_md_names_real_modules_in_each_folder() -> None:
    """`node.py` in the live paragraph must be server/live/node.py, and so on."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    for paragraph in text.split("\n\n"):
        folder = re.match(r"\*\*`server/(\w+)`\*\*", paragraph)
        if not folder:
            continue
        for module in re.findall(r"`([\w/]+\.py|[\w]+/)`", paragraph):
            if module.startswith("server/"):
                continue
            path = ROOT / "server" / folder.group(1) / module
            assert path.exists(), f"{path} is named in docs/architecture.md"


def test_readme_links_to_the_architecture_page() -> None:
    assert "(docs/architecture.md)" in (ROOT / "README.md").read_text()
