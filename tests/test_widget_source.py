"""The widget's source reads like the server's: small named parts, full names; and what
/widget.js and its chunks /widget-engage.js and /widget-notify.js serve are those parts,
minified, each within its size budget."""

from __future__ import annotations

import gzip
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import tree_sitter_javascript
from tree_sitter import Language, Node, Parser

from server.web.widget_source import (
    ENGAGE_DIR,
    ENGAGE_PARTS,
    NOTIFY_DIR,
    NOTIFY_PARTS,
    PARTS,
    SOURCE_DIR,
    engage_source,
    engage_version,
    minified,
    notify_source,
    notify_version,
    served_engage,
    served_notify,
    served_widget,
    widget_source,
)

COUNT = SOURCE_DIR.parent / "count.js"
BUDGET = 12 * 1024  # gzipped, as tests/browser/test_widget_report.py measures it
# The chunk's own: reactions, sorting, pins and links must not grow into a second widget.
ENGAGE_BUDGET = 6 * 1024
# The notification centre's: a bell and a list, for readers with a credential only.
NOTIFY_BUDGET = 5 * 1024
JAVASCRIPT = Parser(Language(tree_sitter_javascript.language()))
# Names the widget declares, and names of properties it reads or writes.
DECLARED = {"identifier", "shorthand_property_identifier", "shorthand_property_identifier_pattern"}
PROPERTIES = {"property_identifier", "private_property_identifier"}
LOOP_INDICES = {"i", "j", "k"}
# Short property names that others chose, so the widget must use them as they are.
FOREIGN = {
    "id": "the API's comment ids, and an element's id in the DOM",
    "ok": "fetch's Response.ok",
    "hp": "the honeypot field the API reads from a posted comment",
}


def parse(source: str) -> Node:
    tree = JAVASCRIPT.parse(source.encode())
    assert not tree.root_node.has_error, "the JavaScript does not parse"
    return tree.root_node


def names(node: Node) -> Iterator[Node]:
    if node.type in DECLARED | PROPERTIES:
        yield node
    for child in node.children:
        yield from names(child)


def short_names(source: str) -> list[str]:
    """Every name under three characters but loop indices and others' property names."""
    found = []
    for node in names(parse(source)):
        name = (node.text or b"").decode()
        allowed = LOOP_INDICES if node.type in DECLARED else set(FOREIGN)
        if len(name.lstrip("#")) < 3 and name not in allowed:
            found.append(f"{name} (line {node.start_point.row + 1})")
    return found


def test_the_check_finds_hand_shortened_names() -> None:
    """The old widget's style fails the check; loop indices and others' names pass."""
    old_style = (
        'const s = (e) => me.t + el.id; for (let i = 0; i < 3; i++) fetch("/").then((r) => r.ok);'
    )
    found = [name.split()[0] for name in short_names(old_style)]
    assert found == ["s", "e", "me", "t", "el", "r", "r"]


@pytest.mark.parametrize(
    "path",
    [
        *(SOURCE_DIR / name for name in PARTS),
        *(ENGAGE_DIR / name for name in ENGAGE_PARTS),
        *(NOTIFY_DIR / name for name in NOTIFY_PARTS),
        COUNT,
    ],
    ids=str,
)
def test_widget_source_has_no_name_shorter_than_three_letters(path: Path) -> None:
    assert short_names(path.read_text()) == []


def test_every_part_in_widget_src_is_served() -> None:
    assert sorted(PARTS) == sorted(path.name for path in SOURCE_DIR.glob("*.js"))
    assert sorted(ENGAGE_PARTS) == sorted(path.name for path in ENGAGE_DIR.glob("*.js"))
    assert sorted(NOTIFY_PARTS) == sorted(path.name for path in NOTIFY_DIR.glob("*.js"))


def test_served_widget_is_the_parts_minified_within_budget() -> None:
    source = widget_source()
    served = served_widget().decode()
    assert source.startswith('(() => {\n"use strict";')
    parse(served)
    assert len(served) < len(source) * 0.8  # comments and indentation are gone
    assert "@ts-check" not in served and "class ThreadView" in served
    assert len(gzip.compress(served.encode(), 9)) < BUDGET


def test_served_chunk_is_its_parts_minified_within_its_budget_and_the_widget_names_it() -> None:
    source = engage_source()
    served = served_engage().decode()
    parse(served)
    assert len(served) < len(source) * 0.8
    assert "export const install" in served and "class Engagement" in served
    assert len(gzip.compress(served.encode(), 9)) < ENGAGE_BUDGET
    # The widget imports the chunk by its digest: a new chunk is a new URL.
    assert f"/widget-engage.js?v={engage_version()}" in served_widget().decode()
    assert "ENGAGE-VERSION" not in served_widget().decode()


def test_served_centre_is_its_parts_minified_within_its_budget_and_the_chunk_names_it() -> None:
    source = notify_source()
    served = served_notify().decode()
    parse(served)
    assert len(served) < len(source) * 0.8
    assert "export const follow" in served and "class NotificationCentre" in served
    assert len(gzip.compress(served.encode(), 9)) < NOTIFY_BUDGET
    # The engage chunk imports the centre by its digest: a new centre is a new URL, and so a
    # new engage chunk, which the widget names by its own digest.
    assert f"/widget-notify.js?v={notify_version()}" in served_engage().decode()
    assert "NOTIFY-VERSION" not in served_engage().decode()
    assert f"/widget-engage.js?v={engage_version()}" in served_widget().decode()


def test_without_the_minifier_the_readable_script_is_served_with_one_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "rjsmin", None)  # import rjsmin raises ImportError
    source = widget_source()
    with caplog.at_level(logging.WARNING, logger="threadline.web"):
        assert minified(source) == source
    assert [record.levelname for record in caplog.records] == ["WARNING"]
    assert "unminified" in caplog.records[0].getMessage()


def test_a_missing_part_is_said_in_the_console(tmp_path: Path) -> None:
    (tmp_path / PARTS[0]).write_text("// only the first part")
    assert widget_source(tmp_path).startswith(
        f"console.error('[threadline] widget/src/{PARTS[1]} is missing"
    )
    # The chunk still exports install(), which says so: the widget goes on without it.
    (tmp_path / ENGAGE_PARTS[0]).write_text("// only the first part")
    chunk = engage_source(tmp_path)
    assert chunk.startswith("export const install = () => {")
    assert f"widget/src/engage/{ENGAGE_PARTS[1]} is missing" in chunk
    # The centre still exports follow(), which says so: the widget goes on without a bell.
    (tmp_path / NOTIFY_PARTS[0]).write_text("// only the first part")
    centre = notify_source(tmp_path)
    assert centre.startswith("export const follow = () => {")
    assert f"widget/src/notify/{NOTIFY_PARTS[1]} is missing" in centre
