"""Workspace-wide test set-up: kernel leak checks, per-test name prefixes, a Controller fixture."""

from __future__ import annotations

import os
import secrets

import pytest

from pycnm.testing import leftovers

IS_ROOT = os.geteuid() == 0


def pytest_collection_modifyitems(config, items):
    if IS_ROOT:
        return
    skip = pytest.mark.skip(reason="needs root to create network namespaces and links")
    for item in items:
        if "privileged" in item.keywords:
            item.add_marker(skip)


def pytest_sessionstart(session):
    session.config._pycnm_kernel_before = leftovers.snapshot() if IS_ROOT else None


def pytest_sessionfinish(session, exitstatus):
    before = getattr(session.config, "_pycnm_kernel_before", None)
    if before is None:
        return
    leaks = leftovers.snapshot().new_since(before)
    if leaks:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        text = "; ".join(f"{kind}: {', '.join(items)}" for kind, items in leaks.items())
        if reporter:
            reporter.write_line(f"LEAK: the test run left kernel objects behind: {text}", red=True)
        session.exitstatus = 1


@pytest.fixture
def prefix() -> str:
    """A short name prefix this test owns for every kernel object it makes (t + 3 hex)."""
    return "t" + secrets.token_hex(2)[:3]


@pytest.fixture
def no_leaks():
    """Fail the test when it leaves a namespace, link or nftables table behind."""
    before = leftovers.snapshot()
    yield
    leaks = leftovers.snapshot().new_since(before)
    assert not leaks, f"kernel objects left behind: {leaks}"


@pytest.fixture
def controller_factory(tmp_path, prefix, no_leaks):
    """Make Controllers on one state dir; everything they made is deleted at the end."""
    from pycnm import Controller

    made = []
    state = tmp_path / "state"

    def make(**kwargs):
        kwargs.setdefault("plugins", [])
        ctrl = Controller(str(state), netns_prefix=f"{prefix}-", ifname_prefix=prefix, **kwargs)
        made.append(ctrl)
        return ctrl

    yield make
    # clean up with the newest controller still open (it knows in-process drivers), else a new one
    ctrl = next((c for c in reversed(made) if not c._closed), None) or make()
    for sb in ctrl.sandboxes():
        sb.delete()
    for net in ctrl.networks():
        for ep in net.endpoints():
            ep.delete(force=True)
        net.delete()
    for c in made:
        c.close()


@pytest.fixture
def controller(controller_factory):
    return controller_factory()
