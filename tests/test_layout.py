"""The library's shape, read from its own imports (an AST walk, nothing imported or run).

docs/architecture.md draws the layers this test enforces: a module imports only modules of a lower layer or
of its own stage; nothing imports in a circle; no module imports another module's underscore names; the
library never imports the apps (ui/, eval/, cli/, bench/).
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APPS = ("ui", "eval", "cli", "bench", "tests")

# (layer, module prefixes); a prefix owns itself and everything below it
LAYERS: list[tuple[int, tuple[str, ...]]] = [
    (0, ("rag.errors", "rag.types", "rag.words", "rag.paths")),
    (1, ("rag.ingest.clean", "rag.ingest.metadata", "rag.ingest.chunk", "rag.ingest.syndication", "rag.ingest.loaders",
         "rag.ingest.report", "rag.embed", "rag.store")),
    (2, ("rag.indexes", "rag.ingest.pipeline", "rag.ingest.folding", "rag.retrieve")),
    (3, ("rag.answer",)),
]
API = "rag"  # rag/__init__.py: the public API, above every layer


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> list[tuple[str, tuple[str, ...]]]:
    """(module imported, names taken from it) for every import in the file, relative ones resolved."""
    name = module_name(path)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(a.name, ()) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package[: len(package) - node.level + 1]
                base = ".".join(up + ([base] if base else []))
            out.append((base, tuple(a.name for a in node.names)))
    return out


def library() -> dict[str, Path]:
    return {module_name(p): p for p in sorted((ROOT / "rag").rglob("*.py"))}


def layer_of(module: str) -> tuple[int, str]:
    """(layer, the prefix that owns ``module``); the API package sits above every layer."""
    for layer, prefixes in LAYERS:
        for prefix in prefixes:
            if module == prefix or module.startswith(prefix + "."):
                return layer, prefix
    if module == API:
        return len(LAYERS), API
    below = [(layer, module) for layer, prefixes in LAYERS for prefix in prefixes if prefix.startswith(module + ".")]
    if below:  # a stage package's __init__ (rag.ingest): as low as its lowest module
        return min(below)
    raise AssertionError(f"{module} is in no layer of tests/test_layout.py: add it to LAYERS and docs/architecture.md")


def stage(prefix: str) -> str:
    """The stage package a prefix belongs to: rag.ingest.chunk -> rag.ingest, rag.store -> rag.store."""
    return ".".join(prefix.split(".")[:2])


def project_edges(modules: dict[str, Path]) -> dict[str, set[str]]:
    """module -> the library modules it imports (``from rag.store import open_store`` is an edge to rag.store)."""
    edges: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for target, names in imports(path):
            if target.split(".")[0] != "rag":
                continue
            submodules = {f"{target}.{n}" for n in names} & modules.keys()  # `from rag.ingest import folding`: a module
            targets |= submodules or {target}
        edges[name] = targets - {name}
    return edges


def test_every_library_module_has_a_layer():
    for name in library():
        layer_of(name)


def test_the_library_never_imports_the_apps():
    bad = [(name, target) for name, path in library().items() for target, _ in imports(path)
           if target.split(".")[0] in APPS]
    assert not bad, f"the library imports an app (ui, eval, cli, bench): {bad}"


def test_imports_only_go_down_the_layers_or_stay_in_their_stage():
    bad = []
    for name, targets in project_edges(library()).items():
        layer, prefix = layer_of(name)
        for target in targets:
            t_layer, t_prefix = layer_of(target)
            if t_layer < layer or stage(t_prefix) == stage(prefix) and t_layer == layer:
                continue
            if name == API:
                continue
            bad.append(f"{name} (layer {layer}) imports {target} (layer {t_layer})")
    assert not bad, "\n".join(bad)


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every cycle a depth-first walk meets, each as the modules along it (the first repeated at the end)."""
    modules = set(edges)
    state: dict[str, int] = {}
    path: list[str] = []
    found = []

    def owner(t: str) -> str:  # `import rag.store.x.Y`-style targets belong to their longest known module
        while t not in modules and "." in t:
            t = t.rsplit(".", 1)[0]
        return t

    def visit(m: str) -> None:
        state[m] = 1
        path.append(m)
        for t in sorted(map(owner, edges.get(m, ()))):
            if t not in modules or t == m:
                continue
            if state.get(t) == 1:
                found.append(path[path.index(t):] + [t])
            elif t not in state:
                visit(t)
        path.pop()
        state[m] = 2

    for m in sorted(modules):
        if m not in state:
            visit(m)
    return found


def test_no_import_cycles():
    found = cycles(project_edges(library()))
    assert not found, "import cycles:\n" + "\n".join(" -> ".join(c) for c in found)


@pytest.mark.parametrize("folder", ["rag", "ui", "eval", "cli", "bench"])
def test_no_module_imports_another_modules_underscore_names(folder):
    bad = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        for target, names in imports(path):
            if target.split(".")[0] not in ("rag", "ui", "eval", "cli", "bench"):
                continue
            private = [n for n in names if n.startswith("_") and not n.startswith("__")]
            if private:
                bad.append(f"{module_name(path)} imports {', '.join(private)} from {target}")
    assert not bad, "\n".join(bad)


def test_the_checks_catch_what_they_are_for(tmp_path):
    """The walk itself: a relative import resolves, a cycle and an underscore import are seen."""
    pkg = tmp_path / "rag" / "store"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from .b import _secret\n")
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        assert imports(pkg / "a.py") == [("rag.store.b", ("_secret",))]
        assert module_name(pkg / "__init__.py") == "rag.store"
    finally:
        ROOT = saved
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b.x"}, "b": set()}) == []
    assert layer_of("rag.store.folder.store") == (1, "rag.store")
    assert layer_of("rag.answer.judge.verify") == (3, "rag.answer")
    with pytest.raises(AssertionError, match="no layer"):
        layer_of("rag.newthing")


# Underscore members of another library's objects, read where that library offers no public way
THIRD_PARTY_PRIVATE = {
    "rag.answer.llm": {"_model"},  # llama_cpp.Llama._model: the loaded model, for its tokenizer's special tokens
    "rag.store.milvus.client": {"_get_connection"},  # pymilvus MilvusClient's connection, for the raw RPCs
}


def private_reach(path: Path) -> list[str]:
    """``x._name`` where ``x`` is not ``self``/``cls`` and no code of this module defines ``_name``: reaching into
    an object another module owns."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    own = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            own.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            own.add(node.attr)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            own.add(node.id)
    allowed = own | THIRD_PARTY_PRIVATE.get(module_name(path), set())
    return [f"{module_name(path)}:{node.lineno} {ast.unparse(node)}" for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
            and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
            and node.attr not in allowed]


@pytest.mark.parametrize("folder", ["rag", "ui", "eval", "cli", "bench"])
def test_no_module_reaches_into_another_modules_objects(folder):
    bad = [line for path in sorted((ROOT / folder).rglob("*.py")) for line in private_reach(path)]
    assert not bad, "\n".join(bad)


def test_private_reach_sees_a_foreign_member_and_allows_an_own_one(tmp_path):
    (tmp_path / "m.py").write_text("class A:\n    def _own(self): pass\n\ndef f(a, b):\n    return a._own(), b._theirs\n")
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        assert private_reach(tmp_path / "m.py") == ["m:5 b._theirs"]
    finally:
        ROOT = saved
