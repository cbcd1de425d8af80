"""The house rules the folders are meant to say: who imports whom, and who writes which table.

- A service imports only `shared/` and itself; `shared/` imports no service; `pim/` takes from a service
  only what its package exports (`services/<name>/__init__.py`'s `__all__`).
- Every migration names its owner; every table and view is created by one owner's migrations; every
  statement that writes a table is in its owner's code; another owner's code reads only what the owner
  publishes (`shared/db.PUBLISHED`).
"""

from __future__ import annotations

import ast
import importlib
import re
from collections import defaultdict
from pathlib import Path

import pytest

from shared.db import OWNERS, PUBLISHED, migration_files, migration_owner
from shared.service_roles import CREATED

ROOT = Path(__file__).resolve().parents[2]
SERVICES = sorted(p.name for p in (ROOT / "services").iterdir() if (p / "__init__.py").exists())
WRITTEN = re.compile(
    r"""\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM|TRUNCATE|COPY)\s+(?:public\.)?([a-z_]+)"""
    r"""|copy_(?:records_to_table|rows_as_csv|to_table)\((?:conn,\s*)?["']([a-z_]+)["']"""
)
# Writes outside the owner's code, each with its reason.
FOREIGN_WRITES = {
    ("pim/bench/projector.py", "events"): "the benchmark generates a 2,000,000-event store in SQL, as its input",
}


READ = re.compile(r"\b(?:FROM|JOIN)\s+(?:public\.)?([a-z_]+)\b", re.I)
FUNCTION = re.compile(r"CREATE\s+(?:OR\s+REPLACE\s+)?FUNCTION\s+([a-z_]+)", re.I)
# Reads of another owner's private tables, each with its reason (to be replaced by a published view or API).
FOREIGN_READS = {
    ("shared/locks.py", "store_locks"): "every lock in one module, by design (locks.py)",
    ("shared/locks.py", "store_stream_locks"): "every lock in one module, by design (locks.py)",
    ("shared/locks.py", "projector_locks"): "every lock in one module, by design (locks.py)",
}
# The wings of `pim` that watch the pipeline settle or measure it read its internals, and say so.
INTERNALS_READERS = ("pim/demo/settle.py", "pim/bench/", "pim/demo/review_story.py")


def _modules(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module, names) of every `import` and `from … import` in the file."""
    found: list[tuple[str, list[str]]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, [alias.name for alias in node.names]))
    return found


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_imports_only_shared_and_itself(service: str) -> None:
    reaching = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in _modules(f"services/{service}")
        for module, _ in _imports(path)
        if module.startswith(("services.", "pim")) and not module.startswith(f"services.{service}")
    ]
    assert reaching == []


def test_shared_imports_no_service_and_no_wing() -> None:
    reaching = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in _modules("shared")
        for module, _ in _imports(path)
        if module.startswith(("services", "pim"))
    ]
    assert reaching == []


def test_pim_takes_from_a_service_only_what_it_exports() -> None:
    internal = []
    for path in _modules("pim"):
        for module, names in _imports(path):
            if not module.startswith("services"):
                continue
            parts = module.split(".")
            exported = set(getattr(importlib.import_module(module), "__all__", ())) if len(parts) == 2 else set()
            internal += [f"{path.relative_to(ROOT)}: {module}.{name}" for name in names if name not in exported]
            if len(parts) != 2 or not names:
                internal.append(f"{path.relative_to(ROOT)}: import {module}")
    assert internal == []


def test_every_service_has_one_bootstrap_and_the_stack_builds_nothing_itself() -> None:
    """The stack takes from a service its bootstrap only (and the alerts' clock, for its banner): what a
    service is made of is wired in one place, its own."""
    assert all((ROOT / "services" / service / "bootstrap.py").exists() for service in SERVICES)
    taken = {name for module, names in _imports(ROOT / "pim" / "stack.py") if module.startswith("services")
             for name in names}  # fmt: skip
    assert taken == {f"bootstrap_{service}" for service in SERVICES} | {"clock_from"}


def _created_by_owner() -> dict[str, set[str]]:
    owners: dict[str, set[str]] = defaultdict(set)
    for name, sql in migration_files():
        for relation in CREATED.findall(sql):
            owners[relation.lower()].add(migration_owner(name))
    return owners


def test_every_migration_names_its_owner_and_every_relation_has_one() -> None:
    owners = _created_by_owner()
    assert owners, "no CREATE TABLE found: the pattern no longer matches the migrations"
    assert {relation: sorted(o) for relation, o in owners.items() if len(o) != 1} == {}
    with pytest.raises(ValueError, match="names no owner"):
        migration_owner("0099_misc.sql")


def test_every_table_is_written_only_by_its_owner() -> None:
    owners = {relation: next(iter(o)) for relation, o in _created_by_owner().items()}
    misplaced = []
    for folder in ("shared", "services", "pim"):
        for path in _modules(folder):
            relative = path.relative_to(ROOT).as_posix()
            for match in WRITTEN.finditer(path.read_text(encoding="utf-8")):
                table = match.group(1) or match.group(2)
                owner = owners.get(table)
                if owner is None or (relative, table) in FOREIGN_WRITES:
                    continue  # a temporary table of the writer's own, or a reasoned exception
                if not relative.startswith(OWNERS[owner]):
                    misplaced.append(f"{relative} writes {table} (owner: {owner}, {OWNERS[owner]})")
    assert misplaced == []


def test_the_projector_rebuild_covers_every_table_and_view_the_projector_owns() -> None:
    from services.projector.rebuild import READ_MODELS, VIEWS

    owned = {relation for relation, owner in _created_by_owner().items() if owner == {"projector"}}
    bookkeeping = {"projector_offsets", "projector_pending", "projector_locks"}  # position, work to do, locks
    assert owned - bookkeeping == set(READ_MODELS) | set(VIEWS)


def _functions_by_owner() -> dict[str, str]:
    """Each SQL function and its owner; the grant functions every owner's migrations redefine are nobody's."""
    defined: dict[str, set[str]] = defaultdict(set)
    for name, sql in migration_files():
        for function in FUNCTION.findall(sql):
            defined[function.lower()].add(migration_owner(name))
    return {function: next(iter(o)) for function, o in defined.items() if len(o) == 1}


def test_another_owners_tables_are_read_only_through_what_it_publishes() -> None:
    owners = {relation: next(iter(o)) for relation, o in _created_by_owner().items()} | _functions_by_owner()
    assert set(PUBLISHED) == set(OWNERS)
    unknown = {f"{owner}: {name}" for owner, names in PUBLISHED.items() for name in names
               if owners.get(name) != owner}  # fmt: skip
    assert unknown == set()  # a contract names only what its owner made
    private = []
    for folder in ("shared", "services", "pim"):
        for path in _modules(folder):
            relative = path.relative_to(ROOT).as_posix()
            if relative.startswith(INTERNALS_READERS):
                continue
            text = path.read_text(encoding="utf-8")
            read = {r.lower() for r in READ.findall(text)} | {
                f for f in _functions_by_owner() if re.search(rf"\b{f}\(", text)
            }
            for relation in sorted(read):
                owner = owners.get(relation)
                if owner is None or relative.startswith(OWNERS[owner]) or relation in PUBLISHED[owner]:
                    continue
                if (relative, relation) not in FOREIGN_READS:
                    private.append(f"{relative} reads {relation} ({owner}'s own)")
    assert private == []


def test_every_migration_has_a_number_of_its_own() -> None:
    numbers = [name.split("_")[0] for name, _ in migration_files()]
    assert all(re.fullmatch(r"\d{4}[a-z]?", n) for n in numbers), numbers
    assert len(numbers) == len(set(numbers)), sorted(n for n in numbers if numbers.count(n) > 1)


# Queries in shared/ of what a service publishes, each with its reason.
SHARED_READS = {
    ("shared/auth.py", "unit_hierarchy"): "a token's scope is its units and all below: every API checks it",
}


def test_shared_holds_no_services_query() -> None:
    """What reads a service's tables or views lives in that service (its standings, its reports): shared/
    reads only what shared owners own (the store, auth), besides the one module of every lock."""
    owners = {relation: next(iter(o)) for relation, o in _created_by_owner().items()} | _functions_by_owner()
    services_reads = []
    for path in _modules("shared"):
        relative = path.relative_to(ROOT).as_posix()
        text = path.read_text(encoding="utf-8")
        read = {r.lower() for r in READ.findall(text)} | {f for f in owners if re.search(rf"\b{f}\(", text)}
        for relation in sorted(read):
            owner = owners.get(relation)
            allowed = (relative, relation) in FOREIGN_READS or (relative, relation) in SHARED_READS
            if owner is not None and OWNERS[owner].startswith("services/") and not allowed:
                services_reads.append(f"{relative}: {relation} ({owner}'s)")
    assert services_reads == []
