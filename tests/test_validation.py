"""Values a hosting application or a user passes are checked at the Controller's boundary: what
is refused writes nothing (no record, no namespace, no file), and the errors say what to do."""

import os
import pathlib
import stat
import threading

import pytest

from pycnm.errors import Forbidden, Internal, InvalidParameter

pytestmark = pytest.mark.privileged


def _nothing_written(ctl):
    assert ctl.sandboxes() == []
    assert [e.key for e in ctl.store.list("sandboxes/")] == []
    assert (
        not os.listdir(os.path.join(ctl.state_dir, "sandboxes"))
        if os.path.isdir(os.path.join(ctl.state_dir, "sandboxes"))
        else True
    )
    assert not [n for n in os.listdir(ctl.netns_dir) if n.startswith(ctl.netns_prefix)]


@pytest.mark.parametrize(
    "field,value,words",
    [
        ("hostname", "h\n6.6.6.6 evil.example", "invalid hostname"),
        ("domainname", "x\nnameserver 6.6.6.6", "invalid domainname"),
        ("dns", ["1.1.1.1\nnameserver 6.6.6.6"], "invalid DNS server"),
        ("dns_search", ["x\nnameserver 6.6.6.6"], "invalid DNS search domain"),
        ("dns_options", ["ndots:1\nnameserver 6.6.6.6"], "invalid DNS option"),
        ("extra_hosts", [("a\n7.7.7.7 b", "1.2.3.4")], "invalid extra host name"),
    ],
)
def test_a_value_that_would_add_a_line_to_hosts_or_resolv_conf_is_refused(controller, field, value, words):
    with pytest.raises(InvalidParameter, match=words):
        controller.create_sandbox("s1", **{field: value})
    _nothing_written(controller)


def test_a_valid_sandbox_writes_exactly_the_lines_it_was_given(controller):
    sb = controller.create_sandbox(
        "s1",
        hostname="web",
        domainname="example.test",
        dns=["192.0.2.53"],
        dns_search=["example.test"],
        dns_options=["ndots:2"],
        extra_hosts=[("db.local", "10.9.9.9")],
    )
    hosts = pathlib.Path(sb.hosts_path).read_text().splitlines()
    assert hosts[-1] == "10.9.9.9\tdb.local"
    assert pathlib.Path(sb.resolv_conf_path).read_text().splitlines() == [
        "nameserver 192.0.2.53",
        "search example.test",
        "options ndots:2",
    ]


def test_a_name_that_is_no_valid_hostname_gives_the_short_id_as_hostname(controller):
    sb = controller.create_sandbox("my_box")
    assert sb.hostname == sb.id[:12]


def test_an_alias_that_is_no_dns_name_is_refused(controller):
    net = controller.create_network("n", "null")
    with pytest.raises(InvalidParameter, match="invalid alias"):
        controller.connect(net, controller.create_sandbox("s"), aliases=["a b"])
    assert net.endpoints() == []


def test_a_name_of_300_characters_is_refused(controller):
    with pytest.raises(InvalidParameter, match="at most 128"):
        controller.create_network("n" * 300, "null")
    with pytest.raises(InvalidParameter, match="at most 128"):
        controller.create_sandbox("s" * 300)
    assert controller.networks() == []


def test_an_unknown_driver_option_is_refused_with_the_options_the_driver_knows(controller):
    with pytest.raises(
        InvalidParameter,
        match=r"unknown option no\.such\.option for driver null; it knows: "
        r"com\.docker\.network\.container_iface_prefix",
    ):
        controller.create_network("n", "null", options={"no.such.option": "1"})
    assert controller.networks() == []


def test_the_state_directory_and_the_store_are_private(controller):
    assert stat.S_IMODE(os.stat(controller.state_dir).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(os.path.join(controller.state_dir, "local.db")).st_mode) == 0o600


def test_the_docker_plugin_socket_is_0660_and_root_s(tmp_path):
    from pycnm_docker_plugin.server import PluginServer
    from pycnm_docker_plugin.service import PluginService

    service = PluginService("null", str(tmp_path / "state"), ipam=False)
    server = PluginServer(str(tmp_path / "p.sock"), service)
    try:
        st = os.stat(tmp_path / "p.sock")
        assert stat.S_IMODE(st.st_mode) == 0o660 and st.st_uid == 0
    finally:
        server.server_close()
        service.close()


def test_a_rolled_back_endpoint_never_frees_an_address_another_controller_took(controller_factory):
    """The release after a rolled-back creation used to free the address a second Controller
    took right then (the local store had undone the allocation already)."""
    a, b = controller_factory(), controller_factory()
    a.create_network("n", "null", subnet="10.74.0.0/24")
    commit, release = a.store.commit, a._endpoints.release_addresses
    helpers, got = [], {}

    def failing(ops):
        if any(op.key.startswith("endpoints/") for op in ops):
            raise Internal("the disk is full")
        return commit(ops)

    def b_allocates():
        got["ep"] = b.network("n").create_endpoint("b-ep")

    def release_after_b(rec, ipam):  # the moment the race needs: B allocating before the release
        helper = threading.Thread(target=b_allocates)
        helpers.append(helper)
        helper.start()
        helper.join(timeout=2)
        return release(rec, ipam)

    a.store.commit, a._endpoints.release_addresses = failing, release_after_b
    with pytest.raises(Internal, match="the disk is full"):
        a.network("n").create_endpoint("a-ep")
    del a.store.commit, a._endpoints.release_addresses
    for helper in helpers:
        helper.join(timeout=30)
    if "ep" not in got:
        b_allocates()
    taken = got["ep"].address.ip
    with pytest.raises(Forbidden, match="already in use"):
        a.network("n").create_endpoint("c", ip=str(taken))
