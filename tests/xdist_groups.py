"""Spread the suite over every core without computing an expensive shared fixture twice.

``python -m pytest`` runs with ``-n auto --dist loadgroup`` (``[tool.pytest.ini_options]`` in
pyproject.toml; ``-n 0`` runs serially in one process). Stock ``loadgroup`` hands every test
to whichever worker is free, except tests carrying the same ``xdist_group`` mark, so a fixture
of module or session scope would be computed once on each worker that runs one of its tests.
This plug-in finds the groups from the fixtures themselves: tests that share a fixture of
class, module, package or session scope defined in this project (in a conftest or a test
module; pytest's own, such as ``tmp_path_factory``, do not count) go to one worker, so that the
fixture is computed once there; tests that share none are spread one by one. An explicit
``@pytest.mark.xdist_group(name)`` still groups. Groups are handed out heaviest first (a test
marked ``slow`` weighs :data:`SLOW_WEIGHT` ordinary tests) so that a long group does not start
last and leave the other worker idle at the end.

How: every worker, after collecting, writes the group of each test (and each group's weight)
to a file in a folder that the controller names in ``workerinput``; the controller's scheduler
(``LoadScopeScheduling`` whose "scope" of a test is its group) reads it once all workers have
collected (they collect the same tests: xdist checks). Without the file it falls back to one
group per test module (xdist's ``loadfile``), which is always safe.
"""

from __future__ import annotations

import inspect
import json
import os
import shutil
import tempfile
from collections import OrderedDict
from pathlib import Path

import pytest

#: How many ordinary tests a test marked ``slow`` weighs when ordering the groups.
SLOW_WEIGHT = 25

_INPUT_KEY = "vbcsim_xdist_groups"


def _module_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def _ours(fixture) -> bool:
    """Defined in a test module or a conftest (not by pytest or a plug-in such as
    ``tmp_path_factory``): plug-ins' fixtures have an empty base id, and so do those of a
    conftest at the root, told apart by the file name."""
    if fixture.baseid:
        return True
    try:
        return Path(inspect.getfile(fixture.func)).name == "conftest.py"
    except (TypeError, OSError):
        return False


def _sharing_keys(item: pytest.Item) -> set[str]:
    """Keys of the shared fixtures ``item`` uses: tests with a key in common share a worker."""
    keys = {f"mark:{mark.args[0] if mark.args else mark.kwargs.get('name', 'default')}"
            for mark in item.iter_markers("xdist_group")}
    info = getattr(item, "_fixtureinfo", None)
    if info is None:  # not a python function (e.g. a doctest): nothing shared
        return keys
    requested = {n for mark in item.iter_markers("usefixtures") for n in mark.args}
    autouse = set(info.initialnames) - set(info.argnames) - requested
    for name, defs in info.name2fixturedefs.items():
        if not defs or name in autouse:  # an autouse fixture would put every test in one group
            continue
        fixture = defs[-1]  # the definition that applies to this item
        if fixture.scope == "function" or not _ours(fixture):
            continue
        if fixture.scope in ("session", "package"):
            keys.add(f"{fixture.scope}:{fixture.baseid}::{name}")
        else:  # module or class: computed once per module (class) on a worker
            keys.add(f"module:{_module_of(item.nodeid)}")
    return keys


def groups_of(items: list[pytest.Item]) -> tuple[dict[str, str], dict[str, float]]:
    """The group of each test (by node id; a test sharing nothing is its own group) and the
    weight of each group (one per test, :data:`SLOW_WEIGHT` per test marked ``slow``)."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    item_keys = {item.nodeid: sorted(_sharing_keys(item)) for item in items}
    for keys in item_keys.values():
        for key in keys[1:]:
            parent[find(key)] = find(keys[0])
    groups = {nodeid: (find(keys[0]) if keys else nodeid) for nodeid, keys in item_keys.items()}
    weights: dict[str, float] = {}
    for item in items:
        group = groups[item.nodeid]
        weights[group] = weights.get(group, 0.0) + (
            SLOW_WEIGHT if item.get_closest_marker("slow") else 1.0)
    return groups, weights


def _make_scheduler_class():
    from xdist.scheduler import LoadScopeScheduling

    class FixtureGroupScheduling(LoadScopeScheduling):
        """``loadscope`` whose scope of a test is its group (see the module docstring)."""

        def __init__(self, config: pytest.Config, log=None, folder: Path | None = None) -> None:
            super().__init__(config, log)
            self._folder = folder
            self._groups: dict[str, str] | None = None
            self._weights: dict[str, float] = {}
            self._ordered = False

        def _load(self) -> None:
            self._groups = {}
            for path in sorted(self._folder.glob("*.json")) if self._folder else []:
                try:
                    data = json.loads(path.read_text())
                except (OSError, ValueError):
                    continue
                self._groups, self._weights = data["groups"], data["weights"]
                return

        def schedule(self) -> None:
            if self._groups is None and self.collection_is_completed:
                self._load()
            super().schedule()

        def _split_scope(self, nodeid: str) -> str:
            if self._groups is None:
                self._load()
            if nodeid in self._groups:
                return self._groups[nodeid]
            return _module_of(nodeid)  # no file: a group per module (safe)

        def _assign_work_unit(self, node) -> None:
            if not self._ordered:  # heaviest group first; ties keep the collection order
                self._ordered = True
                order = sorted(enumerate(self.workqueue.items()),
                               key=lambda e: (-self._weights.get(e[1][0], len(e[1][1])), e[0]))
                self.workqueue = OrderedDict(unit for _, unit in order)
            super()._assign_work_unit(node)

    return FixtureGroupScheduling


class FixtureGroups:
    """The pytest plug-in (registered by ``tests/conftest.py`` when xdist is installed)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.folder: Path | None = None

    # ------------------------------------------------------------ controller
    def _enabled(self) -> bool:
        return self.config.getoption("dist", "no") == "loadgroup" and not hasattr(
            self.config, "workerinput")

    def _folder(self) -> Path:
        if self.folder is None:
            self.folder = Path(tempfile.mkdtemp(prefix="vbcsim-xdist-groups-"))
        return self.folder

    def pytest_configure_node(self, node) -> None:  # called before the scheduler is made
        if self._enabled():
            node.workerinput[_INPUT_KEY] = str(self._folder())

    @pytest.hookimpl(tryfirst=True)
    def pytest_xdist_make_scheduler(self, config: pytest.Config, log):
        if not self._enabled():
            return None
        return _make_scheduler_class()(config, log, self._folder())

    def pytest_unconfigure(self) -> None:
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)

    # ---------------------------------------------------------------- worker
    @pytest.hookimpl(trylast=True)  # after deselection and xdist's own loadgroup renaming
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list) -> None:
        folder = getattr(config, "workerinput", {}).get(_INPUT_KEY)
        if not folder:
            return
        groups, weights = groups_of(items)
        worker = config.workerinput.get("workerid", "gw")
        tmp = Path(folder) / f".{worker}.tmp"
        tmp.write_text(json.dumps({"groups": groups, "weights": weights}))
        os.replace(tmp, Path(folder) / f"{worker}.json")
