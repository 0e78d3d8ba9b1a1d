"""The daemon's CNI service (pycnm.daemon.cni) on the fake OS layer: what ADD, DEL, CHECK, GC and
STATUS do to pycnm's records, and the answers, in every spec version; no kernel, no root.
The same requests through the real plugin, a real daemon and real runtimes: tests/test_cni_*.py."""

from __future__ import annotations

import json
import os

import pytest

from pycnm import Controller
from pycnm.cni import spec
from pycnm.daemon.cni import CNIService, sandbox_name
from pycnm.store import keys
from pycnm.testing.fakeosl import HOST, FakeOSLayer, VethDriver

NETNS = "/run/netns/cni-test-1"


@pytest.fixture
def fake(tmp_path):
    osl = FakeOSLayer(str(tmp_path / "kernel.json"))
    osl.create_namespace(NETNS)  # the runtime's namespace
    return osl


@pytest.fixture
def ctl(tmp_path, fake):
    with Controller(
        str(tmp_path / "state"),
        netns_dir=str(tmp_path / "netns"),
        netns_prefix="c-",
        ifname_prefix="c",
        plugins=[],
        osl=fake,
        drivers={"veth": VethDriver()},
    ) as ctl:
        ctl.create_network("podnet", "veth", subnet="10.88.0.0/24")
        yield ctl


@pytest.fixture
def service(ctl):
    return CNIService(ctl)


def config(version="1.0.0", name="podnet", caps=("portMappings", "ips", "mac", "aliases"), **extra):
    plugin = {"cniVersion": version, "name": name, "type": "pycnm-cni", "capabilities": dict.fromkeys(caps, True)}
    plugin.update(extra)
    return plugin


def call(service, command, cfg=None, *, cid="c0ffee", ifname="eth0", netns=NETNS, args=""):
    env = {"CNI_COMMAND": command, "CNI_CONTAINERID": cid, "CNI_IFNAME": ifname, "CNI_PATH": "/usr/lib/cni"}
    if netns:
        env["CNI_NETNS"] = netns
    if args:
        env["CNI_ARGS"] = args
    return service.answer(json.dumps({"env": env, "stdin": json.dumps(cfg or config())}))


def ok(answer):
    assert answer["ok"] is True, answer
    return answer["result"]


def error(answer):
    assert answer["ok"] is False, answer
    return answer["error"]


@pytest.mark.parametrize("version", spec.SUPPORTED_VERSIONS)
def test_add_joins_the_runtime_s_namespace_and_answers_in_the_version_asked(service, ctl, fake, version):
    result = ok(call(service, "ADD", config(version)))
    assert result["cniVersion"] == version
    (intf,) = result["interfaces"]  # the fake has no veth peers: the container's interface only
    link = fake.links(NETNS)["eth0"]
    assert intf == {"name": "eth0", "mac": link["mac"], "sandbox": NETNS}
    (ip,) = result["ips"]
    assert ip["address"] == "10.88.0.2/24" and ip["gateway"] == "10.88.0.1" and ip["interface"] == 0
    assert ("version" in ip) == version.startswith("0.")  # 0.x carries it, 1.x dropped it
    assert result["routes"] == [{"dst": "0.0.0.0/0", "gw": "10.88.0.1"}]
    assert link["addresses"] == ["10.88.0.2/24"] and fake.routes(NETNS) == {"4": ["eth0", "10.88.0.1"]}
    sb = ctl.sandbox(sandbox_name("c0ffee"))
    assert sb.external and sb.key == NETNS and [e.interface_name for e in sb.endpoints()] == ["eth0"]


def test_del_undoes_an_add_and_leaves_the_runtime_s_namespace_in_place(service, ctl, fake):
    ok(call(service, "ADD"))
    assert ok(call(service, "DEL")) is None
    assert ctl.sandboxes() == [] and ctl.network("podnet").endpoints() == []
    assert fake.is_namespace(NETNS) and set(fake.links(NETNS)) == {"lo"}
    assert set(fake.links(HOST)) == {"lo"} and ctl.store.list(keys.CNI_ATTACHMENTS) == []
    # the address is free again: the next container gets it
    fake.create_namespace("/run/netns/cni-test-2")
    again = ok(call(service, "ADD", cid="beef", netns="/run/netns/cni-test-2"))
    assert again["ips"][0]["address"] == "10.88.0.2/24"


def test_del_is_repeatable_and_needs_no_namespace_nor_network(service, ctl):
    ok(call(service, "ADD"))
    assert ok(call(service, "DEL", netns="")) is None
    assert ok(call(service, "DEL", netns="")) is None
    assert ok(call(service, "DEL", cid="never-added")) is None
    assert ok(call(service, "DEL", config(name="no-such-network"))) is None


def test_del_of_a_namespace_already_gone_cleans_pycnm_s_side(service, ctl, fake):
    ok(call(service, "ADD"))
    fake.delete_namespace(NETNS)  # the runtime removed it first
    ok(call(service, "DEL"))
    assert ctl.sandboxes() == [] and ctl.network("podnet").endpoints() == []


def test_a_path_that_names_another_namespace_now_is_not_touched(service, ctl, fake):
    ok(call(service, "ADD"))
    fake.delete_namespace(NETNS)
    fake.create_namespace(NETNS)  # /proc/PID/ns/net after the PID was reused
    fake.add_link(NETNS, "eth0")  # a stranger's interface of the same name
    ok(call(service, "DEL"))
    assert "eth0" in fake.links(NETNS) and ctl.sandboxes() == []
    assert not [c for c in fake.calls if c[0] in ("detach", "remove_interface") and c[1] == NETNS]


def test_one_container_on_two_networks_is_one_sandbox_until_its_last_del(service, ctl):
    ctl.create_network("second", "veth", subnet="10.89.0.0/24")
    ok(call(service, "ADD"))
    second = ok(call(service, "ADD", config(name="second"), ifname="eth1"))
    assert second["ips"][0]["address"] == "10.89.0.2/24"
    assert second["routes"] == []  # the first network keeps the default route
    (sb,) = ctl.sandboxes()
    assert sorted(e.interface_name for e in sb.endpoints()) == ["eth0", "eth1"]
    ok(call(service, "DEL"))
    (sb,) = ctl.sandboxes()
    assert [e.interface_name for e in sb.endpoints()] == ["eth1"]
    ok(call(service, "DEL", config(name="second"), ifname="eth1"))
    assert ctl.sandboxes() == []


def test_add_of_an_attachment_already_there_fails_and_changes_nothing(service, ctl, fake):
    ok(call(service, "ADD"))
    err = error(call(service, "ADD"))
    assert err["code"] == 999 and "already has interface eth0" in err["msg"] and err["cniVersion"] == "1.0.0"
    assert len(ctl.network("podnet").endpoints()) == 1


def test_add_fails_on_an_interface_name_the_container_has_and_leaves_nothing(service, ctl, fake):
    fake.add_link(NETNS, "eth0")
    err = error(call(service, "ADD"))
    assert err["code"] == 999 and "eth0 already exists" in err["msg"]
    assert ctl.sandboxes() == [] and ctl.store.list(keys.CNI_ATTACHMENTS) == []


def test_a_failed_add_is_rolled_back_whole(service, ctl, fake):
    cfg = config(runtimeConfig={"ips": ["10.99.0.5/24"]})  # outside the network's subnet
    err = error(call(service, "ADD", cfg))
    assert err["code"] == 7 and "10.99.0.5" in err["details"]
    assert ctl.sandboxes() == [] and ctl.network("podnet").endpoints() == []
    assert ctl.store.list(keys.CNI_ATTACHMENTS) == [] and set(fake.links(NETNS)) == {"lo"}


def test_add_without_the_namespace_is_code_3_and_an_unknown_network_code_7(service):
    assert error(call(service, "ADD", netns="/run/netns/none"))["code"] == 3
    err = error(call(service, "ADD", config(name="nothing")))
    assert err["code"] == 7 and "network nothing does not exist" in err["msg"]


def test_capabilities_map_to_pycnm_s_options(service, ctl, fake):
    cfg = config(
        runtimeConfig={
            "ips": ["10.88.0.77/24"],
            "mac": "02:42:0a:58:00:4d",
            "aliases": ["web", "www"],
            "portMappings": [
                {"hostPort": 8080, "containerPort": 80, "protocol": "tcp", "hostIP": "127.0.0.1"},
                {"hostPort": 5353, "containerPort": 53, "protocol": "udp"},
            ],
        }
    )
    result = ok(call(service, "ADD", cfg))
    assert result["ips"][0]["address"] == "10.88.0.77/24"
    assert result["interfaces"][0]["mac"] == "02:42:0a:58:00:4d" == fake.links(NETNS)["eth0"]["mac"]
    (ep,) = ctl.network("podnet").endpoints()
    assert ep.aliases == ["web", "www"]
    published = fake.published[ep.id]
    assert len(published) == 2 and "127.0.0.1" in published[0] and "8080" in published[0]


def test_a_capability_not_declared_is_not_acted_on(service, ctl):
    cfg = config(caps=(), runtimeConfig={"ips": ["10.88.0.77/24"], "aliases": ["web"]})
    result = ok(call(service, "ADD", cfg))
    assert result["ips"][0]["address"] == "10.88.0.2/24" and ctl.network("podnet").endpoints()[0].aliases == []


def test_ip_and_mac_in_cni_args_ask_for_an_address_and_a_mac(service):
    result = ok(call(service, "ADD", args="IgnoreUnknown=1;IP=10.88.0.9;MAC=02:00:00:00:00:09"))
    assert result["ips"][0]["address"] == "10.88.0.9/24" and result["interfaces"][0]["mac"] == "02:00:00:00:00:09"


def test_a_prev_result_is_passed_through_before_pycnm_s_own(service):
    prev = {
        "cniVersion": "1.0.0",
        "interfaces": [{"name": "tap0", "mac": "02:00:00:00:00:01"}],
        "ips": [{"address": "192.0.2.5/24", "interface": 0}],
        "routes": [],
        "dns": {},
    }
    result = ok(call(service, "ADD", config(prevResult=prev)))
    assert [i["name"] for i in result["interfaces"]] == ["tap0", "eth0"]
    assert [(ip["address"], ip["interface"]) for ip in result["ips"]] == [("192.0.2.5/24", 0), ("10.88.0.2/24", 1)]


def test_check_passes_for_what_add_made_and_fails_for_what_changed(service, fake):
    added = ok(call(service, "ADD"))
    assert ok(call(service, "CHECK", config(prevResult=added))) is None
    wrong = dict(added, ips=[{"address": "10.88.0.50/24", "interface": 0}])
    assert "prevResult lists 10.88.0.50/24" in error(call(service, "CHECK", config(prevResult=wrong)))["msg"]
    fake.links(NETNS)["eth0"]["addresses"] = []
    assert "eth0 lacks 10.88.0.2/24" in error(call(service, "CHECK", config(prevResult=added)))["msg"]
    assert "has no interface eth1" in error(call(service, "CHECK", ifname="eth1"))["msg"]


def test_gc_deletes_the_attachments_the_runtime_no_longer_lists(service, ctl, fake):
    for n, cid in enumerate(("keep", "stale1", "stale2")):
        path = f"/run/netns/gc-{n}"
        fake.create_namespace(path)
        ok(call(service, "ADD", cid=cid, netns=path))
    gc = config("1.1.0", **{"cni.dev/valid-attachments": [{"containerID": "keep", "ifname": "eth0"}]})
    assert ok(call(service, "GC", gc)) is None
    assert [s.name for s in ctl.sandboxes()] == ["keep"] and len(ctl.network("podnet").endpoints()) == 1


def test_status_answers_50_for_a_network_that_is_not_there(service):
    assert ok(call(service, "STATUS", config("1.1.0"))) is None
    err = error(call(service, "STATUS", config("1.1.0", name="gone")))
    assert err["code"] == 50 and "gone does not exist" in err["msg"]


def test_queued_dels_are_carried_out_when_the_service_starts(service, ctl):
    ok(call(service, "ADD"))
    queue = service.queue_dir
    os.makedirs(queue)
    env = {"CNI_COMMAND": "DEL", "CNI_CONTAINERID": "c0ffee", "CNI_IFNAME": "eth0"}
    with open(os.path.join(queue, "1-1-DEL-c0ffee-eth0.json"), "w") as fh:
        json.dump({"env": env, "stdin": json.dumps(config()), "queued": {"time": 1, "reason": "down"}}, fh)
    with open(os.path.join(queue, "2-1-DEL-bad.json"), "w") as fh:
        fh.write("not json")  # never carried out: dropped, said so in the log
    assert service.status()["Queued"] == 2
    service.start()
    assert ctl.sandboxes() == [] and os.listdir(queue) == []
    assert service.status()["Replayed"] == 1


def test_a_long_container_id_names_its_sandbox_within_pycnm_s_limit(service, ctl):
    cid = "a" * 200
    ok(call(service, "ADD", cid=cid))
    (sb,) = ctl.sandboxes()
    assert len(sb.name) == 128 and sb.name == sandbox_name(cid) and sb.name != sandbox_name("a" * 201)
    ok(call(service, "DEL", cid=cid))
    assert ctl.sandboxes() == []


def test_a_bad_request_is_the_spec_s_error_never_an_exception(service):
    assert error(service.answer(b"{"))["code"] == 6
    assert error(service.answer(json.dumps({"env": {"CNI_COMMAND": "ADD"}, "stdin": "{}"})))["code"] == 4
    assert ok(service.answer(json.dumps({"env": {"CNI_COMMAND": "VERSION"}, "stdin": ""})))["supportedVersions"]
