"""Every FastAPI dependency PIM declares is a coroutine function: FastAPI runs a plain function in its thread
pool, a hop to a worker thread and back on every request for what only reads the app's state (the ingest's
`ingest_of` was 2 % of its API's samples under single reports, and the worker threads 13 %)."""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _declared_dependencies() -> list[tuple[str, object]]:
    """(where, the object) for each `Depends(name)` in the services' and shared code."""
    found = []
    for path in sorted([*ROOT.joinpath("services").rglob("*.py"), *ROOT.joinpath("shared").rglob("*.py")]):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        calls = [
            node
            for node in ast.walk(tree)
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Depends" and node.args
        ]
        if not calls:
            continue
        module = importlib.import_module(".".join(path.relative_to(ROOT).with_suffix("").parts))
        for call in calls:
            if isinstance(call.args[0], ast.Name):
                where = f"{path.relative_to(ROOT)}:{call.lineno}"
                found.append((where, getattr(module, call.args[0].id)))
    return found


def test_every_dependency_runs_on_the_event_loop() -> None:
    dependencies = _declared_dependencies()
    assert len(dependencies) >= 8  # the finder finds them
    on_a_thread = [
        where
        for where, dependency in dependencies
        if not (inspect.iscoroutinefunction(dependency) or inspect.iscoroutinefunction(type(dependency).__call__))
    ]
    assert not on_a_thread, f"plain functions FastAPI would run in its thread pool: {on_a_thread}"
