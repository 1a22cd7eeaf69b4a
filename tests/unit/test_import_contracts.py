"""Our import-linter contract: every import cycle between modules breaks it, a package's __init__ included."""

from __future__ import annotations

from grimp import ImportGraph

from tests.import_contracts import AcyclicModulesContract


def graph_of(*imports: tuple[str, str]) -> ImportGraph:
    graph = ImportGraph()
    for importer, imported in imports:
        graph.add_import(importer=importer, imported=imported, line_number=1, line_contents=f"import {imported}")
    return graph


def check(graph: ImportGraph) -> tuple[bool, list[list[str]]]:
    result = AcyclicModulesContract("no cycles", session_options={}, contract_options={}).check(graph, verbose=False)
    return result.kept, [group for group, _ in result.metadata.get("cycles", [])]


def test_a_chain_of_imports_keeps_it() -> None:
    assert check(graph_of(("p.a", "p.b"), ("p.b", "p.c"), ("p", "p.a"))) == (True, [])


def test_a_cycle_through_three_modules_breaks_it_and_names_only_them() -> None:
    graph = graph_of(("p.a", "p.b"), ("p.b", "p.c"), ("p.c", "p.a"), ("p.d", "p.a"), ("p.a", "p.e"))
    assert check(graph) == (False, [["p.a", "p.b", "p.c"]])


def test_a_package_importing_a_child_that_imports_it_back_breaks_it() -> None:
    assert check(graph_of(("p", "p.server"), ("p.server", "p.routes"), ("p.routes", "p"))) == (
        False,
        [["p", "p.routes", "p.server"]],
    )


def test_two_separate_cycles_are_both_named() -> None:
    graph = graph_of(("p.a", "p.b"), ("p.b", "p.a"), ("q.x", "q.y"), ("q.y", "q.x"))
    assert check(graph) == (False, [["p.a", "p.b"], ["q.x", "q.y"]])
