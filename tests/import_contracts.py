"""An import-linter contract of our own (registered in pyproject.toml): no import cycle among single modules.

import-linter's acyclic_siblings compares the children of one package at a time, so a package's ``__init__``
importing a child that imports the package back escapes it; this looks at every module of the graph.
"""

from __future__ import annotations

from itertools import pairwise

from grimp import ImportGraph
from importlinter import Contract, ContractCheck, output


class AcyclicModulesContract(Contract):
    """Kept when no module reaches itself through its imports (those inside functions too)."""

    type_name = "acyclic_modules"

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        tangles = sorted(sorted(group) for group in _tangles(graph))
        cycles = [(group, [_step(graph, a, b) for a, b in pairwise(_one_cycle(graph, group))]) for group in tangles]
        return ContractCheck(kept=not cycles, metadata={"cycles": cycles})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for group, steps in check.metadata["cycles"]:
            output.print_error(f"Import cycles among {', '.join(group)}; one of them:")
            for step in steps:
                output.print_error(f"  {step}", bold=False)
            output.new_line()


def _tangles(graph: ImportGraph) -> list[set[str]]:
    """The groups of two or more modules each of which imports all the others, directly or through one another."""
    found: list[set[str]] = []
    for module in sorted(graph.modules):
        if any(module in group for group in found):
            continue
        group = graph.find_upstream_modules(module) & graph.find_downstream_modules(module)
        if group:
            found.append(group | {module})
    return found


def _one_cycle(graph: ImportGraph, group: list[str]) -> tuple[str, ...]:
    """A shortest way from the group's first module back to itself: ``(a, b, …, a)``."""
    start = group[0]
    first = min(graph.find_modules_directly_imported_by(start) & set(group))
    back = graph.find_shortest_chain(importer=first, imported=start)
    assert back is not None  # the two share a strongly connected group
    return (start, *back)


def _step(graph: ImportGraph, importer: str, imported: str) -> str:
    """``a -> b (l.12, l.40)``: where ``a`` imports ``b``."""
    lines = ", ".join(f"l.{d['line_number']}" for d in graph.get_import_details(importer=importer, imported=imported))
    return f"{importer} -> {imported} ({lines})"
