"""The shape of the code: layers that import downward only, no import cycle, no import
hidden in a function, and every module importable on its own."""

import ast
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIB = os.path.join(REPO, "lib")
PACKAGE = os.path.join(LIB, "tristero")


def modules():
    """{module name: path} of every module of the package."""
    found = {}
    for folder, _, names in os.walk(PACKAGE):
        for name in names:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                rel = os.path.relpath(path, LIB)[:-3].replace(os.sep, ".")
                found[rel[:-len(".__init__")] if rel.endswith(".__init__") else rel] = path
    return found


def imports(path, known):
    """(module names imported, imports found inside a function) of one file."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    found, hidden = set(), []

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            inside = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                if in_function:
                    hidden.append("%s:%d" % (os.path.relpath(path, REPO), child.lineno))
                if isinstance(child, ast.ImportFrom) and child.module and child.module.startswith("tristero"):
                    for alias in child.names:
                        full = "%s.%s" % (child.module, alias.name)
                        found.add(full if full in known else child.module)
                elif isinstance(child, ast.Import):
                    found.update(a.name for a in child.names if a.name in known)
            visit(child, inside)

    visit(tree, False)
    return found, hidden


def test_no_import_hides_in_a_function_and_no_module_imports_itself_round_a_cycle():
    known = modules()
    graph, hidden = {}, []
    for name, path in known.items():
        graph[name], inside = imports(path, known)
        hidden += inside
    assert hidden == []
    # A package's __init__ may import its own modules (commands: the registry's discovery).
    graph = {m: {d for d in deps if d != m and not m == d.rpartition(".")[0]} for m, deps in graph.items()}
    cycles, state = [], {}

    def walk(node, stack):
        state[node] = "open"
        stack.append(node)
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == "open":
                cycles.append(stack[stack.index(dep):] + [dep])
            elif dep not in state:
                walk(dep, stack)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            walk(node, [])
    assert cycles == []


def test_the_layers_contract_is_kept():
    """import-linter's layers contract of pyproject.toml."""
    linter = os.path.join(os.path.dirname(sys.executable), "lint-imports")
    if not os.path.exists(linter):
        pytest.fail("lint-imports is not installed: run python3 bin/setup.py --test")
    # From lib/, so that the package (not tristero.py at the top) is what "tristero" names.
    p = subprocess.run([linter, os.path.join(REPO, "pyproject.toml"), "--no-cache"], cwd=LIB,
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "0 broken" in p.stdout


def test_every_module_imports_on_its_own():
    names = sorted(modules())
    code = ("import importlib, sys\n"
            "for name in sys.argv[1:]:\n"
            "    for loaded in [m for m in sys.modules if m.startswith('tristero')]:\n"
            "        del sys.modules[loaded]\n"
            "    importlib.import_module(name)\n")
    p = subprocess.run([sys.executable, "-c", code] + names, cwd=LIB, capture_output=True, text=True,
                       timeout=300, env=dict(os.environ, PYTHONPATH=LIB))
    assert p.returncode == 0, p.stderr
