"""Every hookspec documents itself, and the relay knows every spec (datasette's rule)."""

import inspect

import pytest

from pycnm import hookspecs

SPECS = [
    (cls, name, fn)
    for cls in (
        hookspecs.NetworkDriverSpec,
        hookspecs.PeerSpec,
        hookspecs.IPAMDriverSpec,
        hookspecs.HostSpec,
        hookspecs.DriverSourceSpec,
    )
    for name, fn in vars(cls).items()
    if name.startswith(("cnm_", "ipam_"))
]

LIBNETWORK_API = [
    "config",
    "get_capabilities",
    "create_network",
    "delete_network",
    "create_endpoint",
    "delete_endpoint",
    "endpoint_oper_info",
    "join",
    "leave",
    "program_external_connectivity",
    "revoke_external_connectivity",
    "discover_new",
    "discover_delete",
]
IPAM_API = [
    "get_default_address_spaces",
    "request_pool",
    "release_pool",
    "request_address",
    "release_address",
    "get_capabilities",
]


@pytest.mark.parametrize("cls,name,fn", SPECS, ids=[s[1] for s in SPECS])
def test_every_hookspec_has_a_docstring_naming_its_parameters(cls, name, fn):
    doc = inspect.getdoc(fn)
    assert doc and len(doc.splitlines()) >= 2, f"{name} needs a docstring"
    params = [p for p in inspect.signature(fn).parameters if p != "self"]
    for param in params:
        assert f":param {param}:" in doc, f"{name}: document parameter {param} with ':param {param}:'"
    if cls not in (hookspecs.HostSpec, hookspecs.DriverSourceSpec):
        assert "Required" in doc or "Optional" in doc, f"{name}: say whether it is required"


def test_the_contract_covers_libnetwork_s_driver_api():
    network = {n for _, n, _ in SPECS if n.startswith("cnm_")}
    assert {f"cnm_{n}" for n in LIBNETWORK_API} <= network
    ipam = {n for _, n, _ in SPECS if n.startswith("ipam_")}
    assert {f"ipam_{n}" for n in IPAM_API} <= ipam


def test_required_hooks_exist():
    names = {n for _, n, _ in SPECS}
    assert set(hookspecs.REQUIRED_NETWORK_HOOKS) <= names
    assert set(hookspecs.REQUIRED_IPAM_HOOKS) <= names
