"""Import layering of chalicelib (issue 12): lower layers never reach up.

Every module's imports are read with ``ast`` (those inside functions too, so
a lazy import cannot hide a dependency):

* store/, vision/, query/, inference/, identity/ never import
  chalicelib.services or chalicelib.api; services/ never imports chalicelib.api;
* only query/parse.py imports lark in query/ and store/ (stores run the AST
  from chalicelib.query.ast, never the parser);
* chalicelib never imports testkit, tests or bench; bench never imports tests;
* the command line (openfrs_cli/) is a client of the API: it never imports the
  service (chalicelib, app) or test code, and chalicelib never imports it.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHALICELIB = ROOT / "chalicelib"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported(path: Path, source: str | None = None) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in ``path`` (or in
    ``source`` read as if it were that file); ``from x import y`` yields ``x``
    and ``x.y`` (y may be a submodule)."""
    if source is None:
        source = path.read_text(encoding="utf-8")
    tree = ast.parse(source, filename=str(path))
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            out.append((node.lineno, mod))
            out += [(node.lineno, f"{mod}.{a.name}") for a in node.names if a.name != "*"]
    return out


def modules(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)


def under(mod: str, *prefixes: str) -> bool:
    return any(mod == p or mod.startswith(p + ".") for p in prefixes)


def rules_for(path: Path) -> list[tuple[str, tuple[str, ...]]]:
    """(reason, forbidden module prefixes) that apply to one file."""
    rel = path.relative_to(ROOT).as_posix()
    rules = []
    if rel.startswith("chalicelib/"):
        rules.append(("chalicelib never imports test or benchmark code", ("testkit", "tests", "bench")))
        rules.append(("the service never depends on its command-line client", ("openfrs_cli",)))
        layer = rel.split("/")[1]
        if layer in ("store", "vision", "query", "inference", "identity"):
            rules.append((f"{layer}/ sits below the services and the API",
                          ("chalicelib.services", "chalicelib.api")))
        if layer == "services":
            rules.append(("services/ sit below the API", ("chalicelib.api",)))
        if layer in ("query", "store") and rel != "chalicelib/query/parse.py":
            rules.append(("only query/parse.py uses the grammar; stores use query.ast", ("lark",)))
    if rel.startswith("openfrs_cli/"):
        rules.append(("the command line talks to the service over HTTP only",
                      ("chalicelib", "app", "testkit", "tests", "bench")))
    if rel.startswith("bench/"):
        rules.append(("benchmarks share helpers through testkit, not tests", ("tests",)))
    return rules


FILES = modules(CHALICELIB) + modules(ROOT / "bench") + modules(ROOT / "openfrs_cli")


def test_files_found():
    assert len(modules(CHALICELIB)) > 40 and (CHALICELIB / "query" / "parse.py") in FILES


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_layering(path: Path):
    bad = [f"{path.relative_to(ROOT)}:{line}: imports {mod} ({reason})"
           for reason, forbidden in rules_for(path)
           for line, mod in imported(path) if under(mod, *forbidden)]
    assert not bad, "\n".join(bad)


def test_rules_catch_violations():
    """The checker itself: relative and in-function imports are seen."""
    probe = CHALICELIB / "store" / "_probe.py"
    src = "def f():\n    from ..api import http\n    import lark\n    from . import base\n"
    mods = [m for _, m in imported(probe, src)]
    assert {"chalicelib.api", "chalicelib.api.http", "lark", "chalicelib.store.base"} <= set(mods)
    forbidden = [f for _, f in rules_for(probe)]
    assert any(under("chalicelib.api.http", *f) for f in forbidden)
    assert any(under("lark", *f) for f in forbidden)
    parser_rules = [f for _, f in rules_for(CHALICELIB / "query" / "parse.py")]
    assert not any(under("lark", *f) for f in parser_rules)


def test_no_api_references_below_the_api():
    """The grep of issue 12: ``grep -rn "chalicelib.api\\|from \\.\\.api"`` over
    services, store, vision and query finds nothing (comments and strings too)."""
    pattern = re.compile(r"chalicelib.api|from \.\.api")
    hits = [f"{p.relative_to(ROOT)}:{n}: {line.strip()}"
            for d in ("services", "store", "vision", "query")
            for p in sorted((CHALICELIB / d).rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts
            for n, line in enumerate(p.read_text(encoding="utf-8", errors="replace").splitlines(), 1)
            if pattern.search(line)]
    assert not hits, "\n".join(hits)
