"""The runner implements exactly the catalog; the registry refuses duplicates and names an
unknown activity with a typed error."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from runner import activities
from runner.activities import DuplicateActivity, UnknownActivity, activity
from workflows import catalog


def test_runner_implements_exactly_the_catalog() -> None:
    assert set(activities.REGISTRY) == set(catalog.CATALOG)


def test_duplicate_registration_fails() -> None:
    before = dict(activities.REGISTRY)
    with pytest.raises(DuplicateActivity, match="'file.read' registered twice"):

        @activity("file.read")
        def again(params: dict, ctx: object) -> None:  # pragma: no cover - never called
            pass

    assert activities.REGISTRY == before


def test_duplicate_fails_at_import(tmp_path: Path) -> None:
    module = tmp_path / "exekra_dup_plugin.py"
    module.write_text(
        "from runner.activities import activity\n\n"
        "@activity('log.write')\n"
        "def log_write(params, ctx):\n"
        "    return None\n",
        encoding="utf-8",
    )
    spec = importlib.util.spec_from_file_location("exekra_dup_plugin", module)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    with pytest.raises(DuplicateActivity):
        spec.loader.exec_module(mod)
    sys.modules.pop("exekra_dup_plugin", None)
    assert activities.REGISTRY["log.write"].func.__module__ == "runner.activities.log"


def test_unknown_activity_is_a_typed_error() -> None:
    with pytest.raises(UnknownActivity) as info:
        activities.get("teleport.now")
    assert isinstance(info.value, catalog.UnknownActivity)
    assert info.value.activity_type == "teleport.now"
    assert "teleport.now" in str(info.value)


def test_activities_that_produce_values_declare_output() -> None:
    for act in catalog.CATALOG.values():
        if act.output is not None:
            assert act.param("output") is not None, act.type
