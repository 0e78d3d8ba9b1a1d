"""The conformance kit's pytest plugin: run the whole driver contract against one driver.

    pytest -p pycnm.testing.plugin --pycnm-driver NAME              # an installed driver
    pytest -p pycnm.testing.plugin --pycnm-driver-object mod:Class  # a class on sys.path

With either option the plugin adds the suite (:mod:`pycnm.testing.suite`) to the run; no test file
is needed. A driver's own tests can instead subclass the suite's classes and set
``cnm_driver_name`` (see ``contrib/driver-template``).

What a driver claims decides what is checked: a class attribute ``pycnm_conformance`` (a
:class:`~pycnm.testing.requirements.Claims` or a dict of its fields) says, for instance, whether a
join gives the sandbox an interface. Tests of claims a driver does not make are skipped, and the
skip says which claim.
"""

from __future__ import annotations

import os

import pytest

SUITE = os.path.join(os.path.dirname(__file__), "suite.py")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("pycnm", "pycnm driver conformance")
    group.addoption(
        "--pycnm-driver",
        "--cnm-driver",
        dest="pycnm_driver",
        default=None,
        help="run the conformance suite against the installed network driver NAME",
    )
    group.addoption(
        "--pycnm-driver-object",
        dest="pycnm_driver_object",
        default=None,
        help="run the conformance suite against MODULE:CLASS, loaded in-process",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "pycnm_claim(name): the test needs the driver to make this claim")
    if config.getoption("pycnm_driver") or config.getoption("pycnm_driver_object"):
        explicit = config.args_source == pytest.Config.ArgsSource.ARGS
        if not explicit:  # no paths given: run the suite alone, not the project's testpaths
            config.args[:] = [SUITE]
        elif SUITE not in config.args:
            config.args.append(SUITE)


@pytest.fixture(scope="session")
def cnm_driver_spec(request: pytest.FixtureRequest) -> tuple[str, str | None]:
    """(name, MODULE:CLASS or None) of the driver under test, from the command line."""
    name = request.config.getoption("pycnm_driver")
    obj = request.config.getoption("pycnm_driver_object")
    if obj:
        return (name or obj.rpartition(":")[2].lower(), obj)
    if name:
        return (name, None)
    pytest.skip(
        "no driver given: use --pycnm-driver NAME or --pycnm-driver-object MODULE:CLASS,"
        " or subclass the suite and set cnm_driver_name"
    )
