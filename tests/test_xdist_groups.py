"""The parallel run keeps tests that share an expensive fixture on one worker
(:mod:`xdist_groups`): groups found from the fixtures, a fixture computed once."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from xdist_groups import SLOW_WEIGHT, groups_of

pytest_plugins = ["pytester"]

TESTS = Path(__file__).resolve().parent

CONFTEST = """
import os, pathlib, pytest

def pytest_configure(config):
    if config.pluginmanager.hasplugin("xdist"):
        from xdist_groups import FixtureGroups
        config.pluginmanager.register(FixtureGroups(config), "vbcsim-xdist-groups")

@pytest.fixture(scope="session")
def shared():
    # one file per computation: the test counts them
    folder = pathlib.Path(os.environ["COMPUTED"])
    (folder / f"shared-{os.getpid()}").write_text("")
    return 1

@pytest.fixture(scope="session", autouse=True)
def everywhere():
    return 1
"""

MODULE_A = """
import pytest

@pytest.fixture(scope="module")
def mod():
    return 1

def test_a1(mod): pass
def test_a2(mod, tmp_path_factory): pass
def test_a3(tmp_path): pass

@pytest.mark.slow
def test_a4(): pass
"""

MODULE_B = """
def test_b1(shared): pass
def test_b2(): pass
"""

MODULE_C = """
import pytest

@pytest.fixture(scope="module")
def cmod(shared):
    return shared

def test_c1(cmod): pass
def test_c2(cmod): pass

@pytest.mark.xdist_group("pair")
def test_c3(): pass
"""

MODULE_D = """
import pytest

@pytest.mark.xdist_group("pair")
def test_d1(): pass
"""


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_a=MODULE_A, test_b=MODULE_B, test_c=MODULE_C, test_d=MODULE_D)
    pytester.makeini("[pytest]\nmarkers =\n    slow: slow\n")
    return pytester


def test_tests_sharing_a_module_or_session_fixture_are_grouped(suite, monkeypatch):
    monkeypatch.setenv("COMPUTED", str(suite.path))
    items, _ = suite.inline_genitems("-p", "no:xdist")
    groups, weights = groups_of(items)
    g = {item.name: groups[item.nodeid] for item in items}
    # the module fixture groups a1 and a2 (pytest's own session fixtures and the autouse one
    # do not group); a3 and a4 share nothing: each on its own
    assert g["test_a1"] == g["test_a2"]
    assert len({g["test_a1"], g["test_a3"], g["test_a4"]}) == 3
    # the session fixture, also reached through c's module fixture, groups across modules
    assert g["test_b1"] == g["test_c1"] == g["test_c2"]
    assert g["test_b2"] not in (g["test_b1"], g["test_a1"])
    # an explicit xdist_group mark still groups
    assert g["test_c3"] == g["test_d1"] != g["test_c1"]
    assert weights[g["test_a4"]] == SLOW_WEIGHT and weights[g["test_a1"]] == 2
    assert weights[g["test_b1"]] == 3


def test_a_parallel_run_computes_a_shared_session_fixture_once(suite, tmp_path_factory,
                                                               monkeypatch):
    pytest.importorskip("xdist")
    computed = tmp_path_factory.mktemp("computed")
    monkeypatch.setenv("COMPUTED", str(computed))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(TESTS), *filter(None, [os.environ.get("PYTHONPATH")])]))
    result = suite.runpytest_subprocess("-n", "2", "--dist", "loadgroup", "-v",
                                        "-p", "no:cacheprovider")
    result.assert_outcomes(passed=10)
    assert len(list(computed.iterdir())) == 1, "the session fixture ran on both workers"
    # the rest is spread: both workers ran tests
    ran_on = {line.split("]")[0] for line in result.outlines if line.startswith("[gw")}
    assert ran_on == {"[gw0", "[gw1"}
