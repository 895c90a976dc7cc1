"""The pipeline's stages are registered at start-up, and leads imports nothing from the dialer."""

from __future__ import annotations

import ast
from pathlib import Path

import leads
from leads.stages import STAGES
from lists_hopper.dialer import DialerStage

LEADS_DIR = Path(leads.__file__).parent


def test_the_dialer_stage_is_registered_at_start_up():
    assert isinstance(STAGES.get("dialer"), DialerStage)


def _imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_leads_imports_nothing_from_lists_hopper():
    # Every module of the app, functions' imports included; migrations name the other app's
    # tables by string, as Django writes them.
    offenders = {}
    for path in sorted(LEADS_DIR.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        found = {m for m in _imported_modules(path) if m.split(".")[0] == "lists_hopper"}
        if found:
            offenders[str(path.relative_to(LEADS_DIR))] = sorted(found)
    assert offenders == {}
    assert len(list(LEADS_DIR.glob("*.py"))) > 10  # the scan saw the app


def test_the_dialer_reads_its_lists_and_dnc_with_the_candidates_on_postgresql():
    """Its read goes in the candidate read's round trip on PostgreSQL; elsewhere it has none and
    candidates_loaded queries for itself. A call without dialer options reads nothing."""
    from types import SimpleNamespace

    from django.db import connection

    from lists_hopper.dialer import DialerOptions

    def row(dialer):
        return SimpleNamespace(
            request=SimpleNamespace(dialer=dialer), keys=SimpleNamespace(phone="+12015550123")
        )

    stage = STAGES["dialer"]
    read = stage.read([row(DialerOptions(list_id=4, check_dnc=True))])
    if connection.vendor == "postgresql":
        assert read is not None and read.params == ['{"4"}', '{"+12015550123"}']
    else:
        assert read is None
    assert stage.read([row(None)]) is None
