"""The layering of ``server/``, read from the source with ``ast``: who may import whom.

The layers, bottom up (docs/architecture.md draws them):

0. ``core``: the domain. The standard library, its own modules and a few pure libraries.
1. Adapters: the store (SQL), the broker (Redis or in-process), importers, settings,
   translations, metrics, outgoing webhooks and e-mail.
2. Shared machinery: ``http`` (responses, client addresses, headers, the thread cache,
   the websocket dispatch) and the realtime engine in ``live`` (node, rooms, presence).
3. ``state``: what one process holds, a plain dataclass, and its typed accessor.
4. Transports: the readers' API, the readers' websocket endpoint, the moderation pages
   and their websocket, the public web pages. They never import one another.
5. Composition: the app (builds and starts everything), the uvicorn glue, the CLI.

A module may import from its own layer or any layer below, never above; the graph of
imports between modules has no cycle. Imports under ``if TYPE_CHECKING:`` count too: a
type that points up is a dependency that points up.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

SERVER = Path(__file__).resolve().parent.parent / "server"

# Longest matching prefix wins.
LAYERS: dict[str, int] = {
    "server.core": 0,
    "server.store": 1,
    "server.broker": 1,
    "server.imports": 1,
    "server.i18n": 1,
    "server.settings": 1,
    "server.metrics": 1,
    "server.webtarget": 1,
    "server.notify": 1,
    "server.mail": 1,
    "server.fanout_worker": 1,
    "server.http": 2,
    "server.live": 2,
    "server.logs": 2,
    "server.state": 3,
    "server.live.endpoint": 4,
    "server.api": 4,
    "server.moderation": 4,
    "server.web": 4,
    "server.app": 5,
    "server.runtime": 5,
    "server.cli": 5,
    "server": 5,  # the package itself
}
# Transports: none may import another (each is a top-level unit here).
TRANSPORTS = ("server.live.endpoint", "server.api", "server.moderation", "server.web")
# What core may use besides the standard library: pure libraries with no I/O of their own
# (PyJWT's one part that fetches, PyJWKClient, is not used: a site's keys are configured).
CORE_LIBRARIES = {
    "ada_url",
    "argon2",
    "confusable_homoglyphs",
    "cryptography",
    "emoji",
    "itsdangerous",
    "jwt",
    "orjson",
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SERVER.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES: dict[str, Path] = {
    module_name(path): path
    for path in SERVER.rglob("*.py")
    if "migrations" not in path.relative_to(SERVER).parts
}


def imported_names(module: str) -> Iterator[tuple[str, int]]:
    """Every (module imported, line) in ``module``; ``from a import b`` names ``a.b`` when
    that is a module of ours, else ``a``."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                child = f"{base}.{alias.name}"
                yield (child if child in MODULES else base), node.lineno


def our_imports(module: str) -> set[str]:
    return {name for name, _ in imported_names(module) if name in MODULES}


def layer_of(module: str) -> int:
    prefix = max(
        (p for p in LAYERS if module == p or module.startswith(p + ".")),
        key=len,
    )
    return LAYERS[prefix]


def transport_of(module: str) -> str | None:
    for transport in TRANSPORTS:
        if module == transport or module.startswith(transport + "."):
            return transport
    return None


def test_every_module_has_a_layer() -> None:
    unplaced = [m for m in MODULES if m != "server" and layer_of(m) == LAYERS["server"]]
    unplaced = [m for m in unplaced if not m.startswith(("server.app", "server.runtime"))]
    unplaced = [m for m in unplaced if not m.startswith("server.cli")]
    assert not unplaced, f"give these modules a layer in LAYERS: {unplaced}"


def test_no_module_imports_from_a_layer_above_it() -> None:
    upward = [
        f"{module} (layer {layer_of(module)}) imports {name} (layer {layer_of(name)}) "
        f"at line {line}"
        for module in sorted(MODULES)
        for name, line in imported_names(module)
        if name in MODULES and layer_of(name) > layer_of(module)
    ]
    assert not upward, "\n".join(upward)


def test_no_transport_imports_another() -> None:
    crossing = [
        f"{module} imports {name}"
        for module in sorted(MODULES)
        if (source := transport_of(module))
        for name in sorted(our_imports(module))
        if (target := transport_of(name)) and target != source
    ]
    assert not crossing, "\n".join(crossing)


def test_core_uses_only_the_standard_library_itself_and_pure_libraries() -> None:
    foreign = [
        f"{module} imports {name} at line {line}"
        for module in sorted(MODULES)
        if layer_of(module) == 0
        for name, line in imported_names(module)
        if not name.startswith("server.core")
        and (root := name.split(".")[0]) not in sys.stdlib_module_names
        and root not in CORE_LIBRARIES
        and root != "__future__"
    ]
    assert not foreign, "\n".join(foreign)


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle in ``graph`` if there is any (depth-first, colours)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_import_graph_has_no_cycle() -> None:
    graph = {module: our_imports(module) - {module} for module in MODULES}
    # A package's __init__ importing its own modules is how packages work, not a cycle
    # of design; a module importing its package's __init__ back would be.
    for module, targets in graph.items():
        if MODULES[module].name == "__init__.py":
            graph[module] = {t for t in targets if not t.startswith(module + ".")}
    cycle = find_cycle(graph)
    assert cycle is None, " -> ".join(cycle or [])


@pytest.mark.parametrize(
    ("graph", "has_cycle"),
    [
        ({"a": {"b"}, "b": {"c"}, "c": set()}, False),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, True),
        ({"a": {"a"}}, True),
    ],
)
def test_the_cycle_finder_finds_cycles(graph: dict[str, set[str]], has_cycle: bool) -> None:
    assert (find_cycle(graph) is not None) == has_cycle
