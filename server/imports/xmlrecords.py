"""Streaming XML for exports that can run to gigabytes: the document is read with SAX, and
each record element (a Disqus <post>, a WordPress <item>) is built as a small tree, handed
over with the line it started on, and dropped. DTDs and entities are refused outright."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax import SAXParseException
from xml.sax.handler import ContentHandler, feature_namespaces
from xml.sax.xmlreader import Locator

from defusedxml import DefusedXmlException
from defusedxml.sax import make_parser

from server.core.imports import bad_file


@dataclass
class Node:
    name: str  # local name; namespaces are told apart by ``ns``
    ns: str
    line: int
    attrs: dict[str, str] = field(default_factory=dict)  # by local name
    children: list[Node] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def child(self, name: str) -> Node | None:
        return next((n for n in self.children if n.name == name), None)

    def text_of(self, name: str) -> str:
        found = self.child(name)
        return found.text.strip() if found is not None else ""


class _Records(ContentHandler):
    def __init__(self, depth: int, on_record: Callable[[Node], None]) -> None:
        super().__init__()
        self.depth_wanted = depth
        self.on_record = on_record
        self.depth = 0
        self.stack: list[Node] = []
        self.root: str | None = None
        self.locator: Locator | None = None

    def setDocumentLocator(self, locator: Locator) -> None:
        self.locator = locator

    def startElementNS(self, name: tuple[str | None, str], qname: str | None, attrs: Any) -> None:
        ns, local = name
        self.depth += 1
        if self.depth == 1:
            self.root = local
        if self.stack or self.depth == self.depth_wanted:
            line = (self.locator.getLineNumber() or 0) if self.locator else 0
            node = Node(local, ns or "", line, {key[1]: value for key, value in attrs.items()})
            if self.stack:
                self.stack[-1].children.append(node)
            self.stack.append(node)

    def endElementNS(self, name: tuple[str | None, str], qname: str | None) -> None:
        self.depth -= 1
        if self.stack:
            node = self.stack.pop()
            if not self.stack:
                self.on_record(node)

    def characters(self, content: str) -> None:
        if self.stack:
            self.stack[-1].parts.append(content)


def read_records(
    path: Path, depth: int, on_record: Callable[[Node], None], *, root: str, kind: str
) -> None:
    """Call ``on_record`` with every element ``depth`` levels down (the root is 1), in a
    document whose root element is ``root`` (``kind`` names such a document)."""
    handler = _Records(depth, on_record)
    parser = make_parser()
    parser.setFeature(feature_namespaces, True)
    parser.setContentHandler(handler)
    try:
        # An open file, never a name: given a string, SAX would also fetch URLs.
        with path.open("rb") as stream:
            parser.parse(stream)
    except SAXParseException as exc:
        where = f"{path}:{exc.getLineNumber()}:{exc.getColumnNumber()}"
        raise bad_file(where, f"the XML is malformed or cut short ({exc.getMessage()})") from None
    except DefusedXmlException as exc:
        raise bad_file(
            str(path),
            f"the file declares a DTD or entities, which an export "
            f"never needs ({type(exc).__name__})",
        ) from None
    except OSError as exc:
        raise bad_file(str(path), f"cannot read it ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise bad_file(
            str(path), f"its text is not in the encoding it declares ({exc.reason})"
        ) from None
    if handler.root != root:
        raise bad_file(str(path), f"not {kind}: its root element is <{handler.root}>, not <{root}>")
