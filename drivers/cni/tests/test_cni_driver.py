"""The cni driver against fake CNI plugins: small Python (and shell) executables written into the
test's directory that speak CNI on stdin, the environment and stdout, record every call, and fail
on demand. No root, no kernel: the driver is called directly, or through a Controller on the fake
OS layer (pycnm.testing.fakeosl), where a wrapper plugin makes the interface a real plugin would.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import stat
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from pycnm import Controller, hookimpl, labels
from pycnm.errors import CNMError, Forbidden, Internal, InvalidParameter, NotFound, Timeout, Unavailable
from pycnm.model import DriverConfig, EndpointInterface, EndpointSnapshot, IPAMData, NetworkSnapshot
from pycnm.testing.fakeosl import FakeOSLayer
from pycnm_cni import CNIDriver
from pycnm_cni.errors import PluginError

NET, NET2 = "a" * 64, "c" * 64
EP, EP2 = "b" * 64, "d" * 64
ALL = ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]

# ---- the fake plugins -----------------------------------------------------------------------------

FAKE = r'''#!{python}
"""A fake CNI plugin: records its call, then does what behaviour.json says for it."""
import json, os, sys, time

NAME, DIR = {name!r}, {dir!r}
env = {{k: v for k, v in os.environ.items() if k.startswith("CNI_") or k == "FAKE_MARK"}}
command = env.get("CNI_COMMAND", "")
text = sys.stdin.read()
try:
    conf = json.loads(text)
except ValueError:
    conf = None
with open(os.path.join(DIR, "calls.jsonl"), "a") as fh:
    fh.write(json.dumps({{"plugin": NAME, "command": command, "env": env, "stdin": conf}}) + "\n")
try:
    with open(os.path.join(DIR, "behaviour.json")) as fh:
        every = json.load(fh)
except FileNotFoundError:
    every = {{}}
mine = every.get(NAME, {{}})
b = {{**mine.get("*", {{}}), **mine.get(command, {{}})}}
if "stderr" in b:
    sys.stderr.write(b["stderr"])
if "sleep" in b:
    time.sleep(b["sleep"])
if "fail" in b:
    f = b["fail"]
    if "raw" in f:
        sys.stdout.write(f["raw"])
    elif "code" in f:
        out = {{"cniVersion": (conf or {{}}).get("cniVersion", "1.0.0"), "code": f["code"], "msg": f.get("msg", "")}}
        if "details" in f:
            out["details"] = f["details"]
        json.dump(out, sys.stdout)
    sys.exit(f.get("exit", 1))
if command == "VERSION":
    json.dump({{"cniVersion": conf["cniVersion"], "supportedVersions": b.get("versions", {all!r})}}, sys.stdout)
    sys.exit(0)
if command != "ADD":
    sys.exit(0)  # DEL, CHECK, GC, STATUS succeed, silently
version = conf["cniVersion"]
legacy = version.startswith("0.")
runtime = conf.get("runtimeConfig") or {{}}
if "result" in b:
    result = b["result"]
elif conf.get("prevResult") is not None:
    result = conf["prevResult"]  # a chained plugin passes the result on (tuning sets the MAC)
    if "mac" in runtime:
        for intf in result["interfaces"]:
            if intf.get("sandbox"):
                intf["mac"] = runtime["mac"]
else:
    address = (runtime.get("ips") or [b.get("address", "10.22.0.5/24")])[0]
    ip = {{"address": address, "gateway": b.get("gateway", "10.22.0.1"), "interface": 1}}
    if legacy:
        ip["version"] = "6" if ":" in address else "4"
    result = {{
        "cniVersion": version,
        "interfaces": [
            {{"name": "veth" + env["CNI_CONTAINERID"][:6], "mac": "0a:58:00:00:00:01"}},
            {{"name": env["CNI_IFNAME"], "mac": runtime.get("mac", "0a:58:0a:16:00:05"), "sandbox": env["CNI_NETNS"]}},
        ],
        "ips": [] if b.get("no_ips") else [ip],
        "routes": b.get("routes", [{{"dst": "0.0.0.0/0"}}]),
        "dns": {{}},
    }}
json.dump(result, sys.stdout)
'''

HANGING = """#!/bin/sh
# ADD hangs, with a child that holds stdout open too; the rest succeed at once
cat > /dev/null
if [ "$CNI_COMMAND" = VERSION ]; then
  echo '{"cniVersion": "1.0.0", "supportedVersions": ["0.4.0", "1.0.0"]}'
  exit 0
fi
if [ "$CNI_COMMAND" = ADD ]; then
  sleep 30 &
  echo $! > "%(dir)s/child.pid"
  wait
fi
exit 0
"""


class FakePlugins:
    """Fake plugin executables in ``bin``; what each does is in ``behaviour.json``, what each was
    asked in ``calls.jsonl``."""

    def __init__(self, root: Path) -> None:
        self.dir = root / "fake"
        self.bin = self.dir / "bin"
        self.bin.mkdir(parents=True)
        self.behaviour: dict[str, dict[str, dict[str, Any]]] = {}

    def install(self, *names: str) -> None:
        for name in names:
            self._write(name, FAKE.format(python=sys.executable, name=name, dir=str(self.dir), all=ALL))

    def install_hanging(self, name: str) -> None:
        self._write(name, HANGING % {"dir": self.dir})

    def _write(self, name: str, text: str) -> None:
        path = self.bin / name
        path.write_text(textwrap.dedent(text))
        path.chmod(path.stat().st_mode | stat.S_IXUSR)

    def behave(self, plugin: str, command: str = "*", **what: Any) -> None:
        self.behaviour.setdefault(plugin, {}).setdefault(command, {}).update(what)
        (self.dir / "behaviour.json").write_text(json.dumps(self.behaviour))

    def reset(self, plugin: str) -> None:
        self.behaviour.pop(plugin, None)
        (self.dir / "behaviour.json").write_text(json.dumps(self.behaviour))

    def calls(self, command: str | None = None) -> list[dict[str, Any]]:
        path = self.dir / "calls.jsonl"
        if not path.exists():
            return []
        out = [json.loads(line) for line in path.read_text().splitlines()]
        return [c for c in out if command is None or c["command"] == command]

    def order(self, command: str) -> list[str]:
        return [c["plugin"] for c in self.calls(command)]

    def forget(self) -> None:
        (self.dir / "calls.jsonl").unlink(missing_ok=True)


def conflist(*plugins: str | dict[str, Any], name: str = "mynet", version: str = "1.0.0", **more: Any) -> dict:
    items = [{"type": p} if isinstance(p, str) else p for p in plugins]
    return {"cniVersion": version, "name": name, "plugins": items, **more}


@pytest.fixture
def fake(tmp_path: Path) -> FakePlugins:
    plugins = FakePlugins(tmp_path)
    plugins.install("first", "second", "third")
    return plugins


def new_driver(tmp_path: Path) -> CNIDriver:
    driver = CNIDriver(environ={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "FAKE_MARK": "inherited"})
    driver.cnm_config(DriverConfig(state_dir=str(tmp_path / "state")))
    return driver


@pytest.fixture
def driver(tmp_path: Path) -> CNIDriver:
    return new_driver(tmp_path)


@pytest.fixture
def sandbox(tmp_path: Path) -> str:
    """A path standing for a sandbox's namespace (a plain file: the fakes never open it)."""
    (tmp_path / "netns").mkdir()
    path = tmp_path / "netns" / "sb1"
    path.touch()
    return str(path)


def options(fake: FakePlugins, conf: dict | None = None, **more: str) -> dict[str, Any]:
    generic = {"config": json.dumps(conf or conflist("first", "second", "third")), "cni_path": str(fake.bin)}
    generic.update(more)
    return {labels.GENERIC: generic}


def create(
    driver: CNIDriver,
    fake: FakePlugins,
    conf: dict | None = None,
    network_id: str = NET,
    ipv4: list[IPAMData] | None = None,
    **more: str,
) -> None:
    driver.cnm_create_network(
        network_id=network_id, options=options(fake, conf, **more), ipv4_data=ipv4 or [], ipv6_data=[]
    )


def join(
    driver: CNIDriver,
    sandbox: str,
    endpoint_id: str = EP,
    network_id: str = NET,
    interface: EndpointInterface | None = None,
    endpoint_options: dict | None = None,
):
    driver.cnm_create_endpoint(
        network_id=network_id,
        endpoint_id=endpoint_id,
        interface=interface or EndpointInterface(),
        options=endpoint_options or {},
    )
    return driver.cnm_join(network_id=network_id, endpoint_id=endpoint_id, sandbox_key=sandbox, dst_name="eth0")


def cache_files(tmp_path: Path) -> list[Path]:
    directory = tmp_path / "state" / "results"
    return sorted(p for p in directory.iterdir() if not p.name.endswith(".tmp")) if directory.exists() else []


# ---- versions ---------------------------------------------------------------------------------------


def test_the_list_runs_in_the_newest_version_the_list_and_every_plugin_support(driver, fake, sandbox):
    fake.behave("second", "VERSION", versions=["0.3.1", "0.4.0", "1.0.0"])
    create(driver, fake, conflist("first", "second", version="0.4.0", cniVersions=["0.4.0", "1.0.0", "1.1.0"]))
    join(driver, sandbox)
    assert {c["stdin"]["cniVersion"] for c in fake.calls("ADD")} == {"1.0.0"}
    version_calls = fake.calls("VERSION")
    assert [c["plugin"] for c in version_calls] == ["first", "second"]
    # as libcni's GetVersionInfo asks: its own version on stdin, dummy values for old skels
    assert version_calls[0]["stdin"] == {"cniVersion": "1.1.0"}
    assert {k: version_calls[0]["env"][k] for k in ("CNI_NETNS", "CNI_IFNAME", "CNI_PATH")} == dict.fromkeys(
        ("CNI_NETNS", "CNI_IFNAME", "CNI_PATH"), "dummy"
    )


def test_a_list_naming_only_its_cni_version_runs_in_it_as_libcni_1_1_does(driver, fake, sandbox):
    create(driver, fake, conflist("first", "second", version="0.4.0"))
    info = join(driver, sandbox)
    adds = fake.calls("ADD")
    assert {c["stdin"]["cniVersion"] for c in adds} == {"0.4.0"}
    assert adds[1]["stdin"]["prevResult"]["ips"][0]["version"] == "4"  # 0.4.0's result shape
    assert [str(a) for a in info.configured_addresses] == ["10.22.0.5/24"]


def test_a_plugin_without_the_list_s_version_is_refused_when_the_network_is_created(driver, fake):
    fake.behave("second", "VERSION", versions=["0.3.1", "0.4.0", "1.0.0"])
    with pytest.raises(InvalidParameter, match=r"second \(.*/second\) supports 0.3.1, 0.4.0, 1.0.0"):
        create(driver, fake, conflist("first", "second", version="1.1.0"))
    with pytest.raises(NotFound):
        driver.cnm_delete_network(network_id=NET)
    assert fake.calls("ADD") == []


def test_a_list_older_than_0_3_0_is_refused_saying_which_versions_run(driver, fake):
    conf = conflist("first")
    del conf["cniVersion"]  # libcni: no version is 0.1.0
    with pytest.raises(InvalidParameter, match=r"is for CNI 0.1.0; pycnm runs 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0"):
        create(driver, fake, conf)


def test_a_plugin_that_does_not_know_version_supports_0_1_0_only(driver, fake):
    fake.behave("first", "VERSION", fail={"code": 4, "msg": "unknown CNI_COMMAND: VERSION"})
    with pytest.raises(InvalidParameter, match=r"first \(.*\) supports 0.1.0\."):
        create(driver, fake, conflist("first"))


def test_each_plugin_executable_is_asked_its_version_once(driver, fake, sandbox):
    create(driver, fake)
    join(driver, sandbox)
    driver.cnm_leave(network_id=NET, endpoint_id=EP)
    driver.cnm_join(network_id=NET, endpoint_id=EP, sandbox_key=sandbox, dst_name="eth0")
    assert fake.order("VERSION") == ["first", "second", "third"]
    assert driver.probe.runs == 3


# ---- what each plugin is given --------------------------------------------------------------------


def test_each_plugin_gets_the_list_s_name_and_version_and_the_previous_result(driver, fake, sandbox):
    first = {"type": "first", "bridge": "cni0", "ipam": {"type": "host-local", "subnet": "10.22.0.0/24"}}
    create(driver, fake, conflist(first, "second", "third", name="mynet"))
    join(driver, sandbox)
    adds = fake.calls("ADD")
    assert [c["plugin"] for c in adds] == ["first", "second", "third"]
    one = adds[0]["stdin"]
    assert one["name"] == "mynet" and one["cniVersion"] == "1.0.0" and "prevResult" not in one
    assert one["bridge"] == "cni0" and one["ipam"] == first["ipam"]  # the plugin's own keys pass through
    assert "runtimeConfig" not in one  # no capability declared, none injected
    # each later plugin gets the result of the one before it, in the list's version
    assert adds[1]["stdin"]["prevResult"]["ips"] == [
        {"address": "10.22.0.5/24", "gateway": "10.22.0.1", "interface": 1}
    ]
    assert adds[2]["stdin"]["prevResult"] == adds[1]["stdin"]["prevResult"]
    assert adds[1]["stdin"]["prevResult"]["cniVersion"] == "1.0.0"


def test_the_environment_names_the_attachment_and_the_search_path(driver, fake, sandbox):
    create(driver, fake, conflist("first"))
    join(driver, sandbox)
    env = fake.calls("ADD")[0]["env"]
    assert env["CNI_COMMAND"] == "ADD" and env["CNI_CONTAINERID"] == EP
    assert env["CNI_NETNS"] == sandbox and env["CNI_IFNAME"] == "eth0" and env["CNI_ARGS"] == ""
    assert env["CNI_PATH"] == f"{fake.bin}:/usr/lib/cni:/opt/cni/bin"
    assert env["FAKE_MARK"] == "inherited"  # the runtime's own environment, under the CNI variables


def test_runtime_config_carries_only_the_capabilities_each_plugin_declares(driver, fake, sandbox):
    conf = conflist(
        {"type": "first", "capabilities": {"portMappings": True, "bandwidth": True}},
        {"type": "second", "capabilities": {"mac": True}},
        {"type": "third", "capabilities": {"mac": False}},
    )
    create(driver, fake, conf)
    portmap = [
        {"Proto": 6, "IP": "", "Port": 80, "HostIP": "127.0.0.1", "HostPort": 8080, "HostPortEnd": 0},
        {"Proto": 17, "IP": "", "Port": 53, "HostIP": "", "HostPort": 5353, "HostPortEnd": 0},
    ]
    join(
        driver,
        sandbox,
        interface=EndpointInterface(mac_address="02:00:00:aa:bb:cc"),
        endpoint_options={labels.PORT_MAP: portmap},
    )
    first, second, third = (c["stdin"] for c in fake.calls("ADD"))
    assert first["runtimeConfig"] == {
        "portMappings": [
            {"hostPort": 8080, "containerPort": 80, "protocol": "tcp", "hostIP": "127.0.0.1"},
            {"hostPort": 5353, "containerPort": 53, "protocol": "udp"},
        ]
    }
    assert second["runtimeConfig"] == {"mac": "02:00:00:aa:bb:cc"}
    assert "runtimeConfig" not in third
    # the tuning-like second plugin set the MAC: the endpoint's operational data says so
    assert driver.cnm_endpoint_oper_info(network_id=NET, endpoint_id=EP) == {labels.MAC_ADDRESS: "02:00:00:aa:bb:cc"}
    # DEL gets the same capability arguments as the ADD (from the cache)
    driver.cnm_leave(network_id=NET, endpoint_id=EP)
    assert fake.calls("DEL")[2]["stdin"]["runtimeConfig"]["portMappings"][0]["hostPort"] == 8080


def test_ports_or_a_mac_no_plugin_takes_are_refused_when_the_endpoint_is_created(driver, fake):
    create(driver, fake, conflist("first"))
    with pytest.raises(InvalidParameter, match=r"no plugin .* declares the 'portMappings' capability.*portmap"):
        driver.cnm_create_endpoint(
            network_id=NET,
            endpoint_id=EP,
            interface=EndpointInterface(),
            options={labels.PORT_MAP: [{"Proto": 6, "Port": 80, "HostPort": 8080}]},
        )
    with pytest.raises(InvalidParameter, match=r"'mac' capability.*tuning"):
        driver.cnm_create_endpoint(
            network_id=NET, endpoint_id=EP, interface=EndpointInterface(mac_address="02:00:00:aa:bb:cc"), options={}
        )


def test_a_port_without_a_host_port_or_with_a_range_is_refused(driver, fake):
    create(driver, fake, conflist({"type": "first", "capabilities": {"portMappings": True}}))
    with pytest.raises(InvalidParameter, match="needs a host port"):
        driver.cnm_create_endpoint(
            network_id=NET,
            endpoint_id=EP,
            interface=EndpointInterface(),
            options={labels.PORT_MAP: [{"Proto": 6, "Port": 80, "HostPort": 0}]},
        )
    with pytest.raises(InvalidParameter, match="not a range"):
        driver.cnm_create_endpoint(
            network_id=NET,
            endpoint_id=EP,
            interface=EndpointInterface(),
            options={labels.PORT_MAP: [{"Proto": 6, "Port": 80, "HostPort": 8000, "HostPortEnd": 8009}]},
        )


# ---- ADD and DEL ------------------------------------------------------------------------------------


def test_add_runs_in_order_and_del_in_reverse_with_the_cached_result(driver, fake, sandbox, tmp_path):
    create(driver, fake)
    info = join(driver, sandbox)
    assert fake.order("ADD") == ["first", "second", "third"]
    assert info.interface_name.src_name == "eth0" and info.interface_name.created_in_sandbox
    assert str(info.gateway) == "10.22.0.1"  # the result's default route, through the address's gateway
    # the cache file, in libcni's format
    (path,) = cache_files(tmp_path)
    assert path.name == f"mynet-{EP}-eth0"
    cached = json.loads(path.read_text())
    assert cached["kind"] == "cniCacheV1" and cached["containerId"] == EP and cached["ifName"] == "eth0"
    assert cached["networkName"] == "mynet" and cached["netns"] == sandbox
    assert json.loads(base64.b64decode(cached["config"]))["plugins"][0] == {"type": "first"}
    final = cached["result"]
    assert final["interfaces"][1] == {"name": "eth0", "mac": "0a:58:0a:16:00:05", "sandbox": sandbox}
    driver.cnm_leave(network_id=NET, endpoint_id=EP)
    dels = fake.calls("DEL")
    assert [c["plugin"] for c in dels] == ["third", "second", "first"]
    assert all(c["stdin"]["prevResult"] == final for c in dels)
    assert all(c["env"]["CNI_NETNS"] == sandbox and c["env"]["CNI_IFNAME"] == "eth0" for c in dels)
    assert cache_files(tmp_path) == []


def test_a_0_3_1_list_gets_no_prev_result_on_del_as_in_libcni(driver, fake, sandbox):
    create(driver, fake, conflist("first", "second", version="0.3.1"))
    join(driver, sandbox)
    driver.cnm_leave(network_id=NET, endpoint_id=EP)
    assert [("prevResult" in c["stdin"]) for c in fake.calls("DEL")] == [False, False]


def test_a_failed_add_stops_the_list_and_is_followed_by_a_del_of_every_plugin(driver, fake, sandbox, tmp_path):
    create(driver, fake)
    fake.behave("second", "ADD", fail={"code": 7, "msg": "invalid config", "details": "no bridge name"})
    with pytest.raises(InvalidParameter) as caught:
        join(driver, sandbox)
    message = str(caught.value)
    assert 'plugin type="second" name="mynet"' in message and "failed (add): [code 7] invalid config" in message
    assert "no bridge name" in message
    assert isinstance(caught.value, PluginError) and caught.value.failure.code == 7
    assert fake.order("ADD") == ["first", "second"]  # third never ran
    assert fake.order("DEL") == ["third", "second", "first"]
    assert all("prevResult" not in c["stdin"] for c in fake.calls("DEL"))  # no final result to give
    assert cache_files(tmp_path) == []
    # not joined: a join can be tried again
    fake.reset("second")
    driver.cnm_join(network_id=NET, endpoint_id=EP, sandbox_key=sandbox, dst_name="eth0")


def test_the_cache_file_is_written_before_the_first_add(driver, fake, sandbox, tmp_path):
    create(driver, fake, conflist("first"))
    fake.behave("first", "ADD", fail={"code": 11, "msg": "busy"})
    fake.behave("first", "DEL", fail={"code": 5, "msg": "disk on fire"})
    with pytest.raises(Unavailable, match="busy"):
        join(driver, sandbox)
    # the DEL that followed failed too: the entry stays, without a result, for a later DEL
    (path,) = cache_files(tmp_path)
    assert "result" not in json.loads(path.read_text())
    fake.reset("first")
    driver.cnm_delete_endpoint(network_id=NET, endpoint_id=EP)  # DELs what is left
    assert fake.order("DEL") == ["first", "first"] and cache_files(tmp_path) == []


# ---- DEL of what is gone already --------------------------------------------------------------------


def test_leaving_again_is_not_found_and_runs_nothing(driver, fake, sandbox):
    create(driver, fake)
    join(driver, sandbox)
    driver.cnm_leave(network_id=NET, endpoint_id=EP)
    fake.forget()
    with pytest.raises(NotFound) as caught:
        driver.cnm_leave(network_id=NET, endpoint_id=EP)
    assert caught.value.maskable and fake.calls() == []


def test_del_goes_on_when_a_plugin_says_the_container_is_unknown(driver, fake, sandbox):
    create(driver, fake)
    join(driver, sandbox)
    fake.behave("second", "DEL", fail={"code": 3, "msg": "container unknown"})
    driver.cnm_leave(network_id=NET, endpoint_id=EP)
    assert fake.order("DEL") == ["third", "second", "first"]


def test_del_after_the_namespace_is_gone_passes_no_netns(driver, fake, sandbox):
    create(driver, fake)
    join(driver, sandbox)
    os.unlink(sandbox)  # the core deletes a sandbox's namespace before its endpoints leave
    driver.cnm_leave(network_id=NET, endpoint_id=EP)
    assert {c["env"]["CNI_NETNS"] for c in fake.calls("DEL")} == {""}


def test_del_without_its_cache_file_runs_the_list_without_a_prev_result(driver, fake, sandbox, tmp_path):
    create(driver, fake)
    join(driver, sandbox)
    for path in cache_files(tmp_path):
        path.unlink()
    driver.cnm_leave(network_id=NET, endpoint_id=EP)
    assert fake.order("DEL") == ["third", "second", "first"]
    assert all("prevResult" not in c["stdin"] for c in fake.calls("DEL"))


def test_a_del_that_fails_raises_and_keeps_the_attachment_for_another_try(driver, fake, sandbox, tmp_path):
    create(driver, fake)
    join(driver, sandbox)
    fake.behave("second", "DEL", fail={"code": 5, "msg": "cannot release"})
    with pytest.raises(Internal, match=r'type="second".*\[code 5\] cannot release'):
        driver.cnm_leave(network_id=NET, endpoint_id=EP)
    assert fake.order("DEL") == ["third", "second"]  # the first failure stops the list, as in libcni
    assert len(cache_files(tmp_path)) == 1
    fake.reset("second")
    driver.cnm_leave(network_id=NET, endpoint_id=EP)
    assert cache_files(tmp_path) == []


# ---- CHECK ------------------------------------------------------------------------------------------


def test_check_runs_every_plugin_in_order_with_the_cached_result(driver, fake, sandbox):
    create(driver, fake)
    join(driver, sandbox)
    final = driver.result(NET, EP)
    driver.check(NET, EP)
    checks = fake.calls("CHECK")
    assert [c["plugin"] for c in checks] == ["first", "second", "third"]
    assert all(c["stdin"]["prevResult"] == final and c["env"]["CNI_NETNS"] == sandbox for c in checks)


def test_a_failing_check_stops_there_and_names_the_plugin(driver, fake, sandbox):
    create(driver, fake)
    join(driver, sandbox)
    fake.behave("second", "CHECK", fail={"code": 999, "msg": "eth0 has lost 10.22.0.5/24"})
    with pytest.raises(Internal, match=r'type="second".*failed \(check\).*lost 10.22.0.5/24'):
        driver.check(NET, EP)
    assert fake.order("CHECK") == ["first", "second"]


@pytest.mark.parametrize("how", ["disableCheck", "disable_check"])
def test_check_runs_nothing_when_checks_are_disabled(driver, fake, sandbox, how):
    if how == "disableCheck":
        create(driver, fake, conflist("first", disableCheck=True))
    else:
        create(driver, fake, conflist("first"), disable_check="true")
    join(driver, sandbox)
    driver.check(NET, EP)
    assert fake.calls("CHECK") == []


def test_check_of_a_0_3_1_list_is_refused_as_libcni_refuses_it(driver, fake, sandbox):
    create(driver, fake, conflist("first", version="0.3.1"))
    join(driver, sandbox)
    with pytest.raises(InvalidParameter, match=r"'0.3.1' does not support the CHECK command"):
        driver.check(NET, EP)


def test_check_of_an_endpoint_that_is_not_joined_is_not_found(driver, fake):
    create(driver, fake)
    driver.cnm_create_endpoint(network_id=NET, endpoint_id=EP, interface=EndpointInterface(), options={})
    with pytest.raises(NotFound, match="not joined"):
        driver.check(NET, EP)


# ---- GC and STATUS ----------------------------------------------------------------------------------


def test_gc_and_status_do_nothing_on_lists_before_1_1_0(driver, fake, sandbox):
    create(driver, fake)
    driver.status(NET)
    driver.gc(NET)
    driver.cnm_delete_network(network_id=NET)
    assert fake.calls("GC") == [] and fake.calls("STATUS") == []


def test_deleting_a_1_1_0_network_runs_gc_with_the_attachments_still_valid(driver, fake, sandbox):
    conf = conflist("first", "second", version="1.1.0")
    create(driver, fake, conf, network_id=NET)
    create(driver, fake, conf, network_id=NET2)  # another pycnm network on the same CNI network
    join(driver, sandbox, endpoint_id=EP, network_id=NET)
    driver.cnm_delete_network(network_id=NET2)
    gcs = fake.calls("GC")
    assert [c["plugin"] for c in gcs] == ["first", "second"]
    valid = [{"containerID": EP, "ifname": "eth0"}]
    for call in gcs:
        assert call["stdin"]["cni.dev/valid-attachments"] == valid and call["stdin"]["cni.dev/attachments"] == valid
        assert call["stdin"]["name"] == "mynet" and call["stdin"]["cniVersion"] == "1.1.0"
        assert "prevResult" not in call["stdin"] and "runtimeConfig" not in call["stdin"]
        assert call["env"]["CNI_CONTAINERID"] == "" and call["env"]["CNI_PATH"].startswith(str(fake.bin))


def test_gc_goes_on_past_a_failing_plugin_and_the_network_is_deleted_anyway(driver, fake, caplog):
    create(driver, fake, conflist("first", "second", version="1.1.0"))
    fake.behave("first", "GC", fail={"code": 5, "msg": "cannot list reservations"})
    with pytest.raises(Internal, match="cannot list reservations"):
        driver.gc(NET)
    assert fake.order("GC") == ["first", "second"]
    with caplog.at_level(logging.WARNING, logger="pycnm_cni.driver"):
        driver.cnm_delete_network(network_id=NET)
    assert "cannot list reservations" in caplog.text
    with pytest.raises(NotFound):
        driver.cnm_delete_network(network_id=NET)


@pytest.mark.parametrize("how", ["disableGC", "disable_gc"])
def test_gc_runs_nothing_when_disabled(driver, fake, how):
    if how == "disableGC":
        create(driver, fake, conflist("first", version="1.1.0", disableGC="true"))
    else:
        create(driver, fake, conflist("first", version="1.1.0"), disable_gc="1")
    driver.cnm_delete_network(network_id=NET)
    assert fake.calls("GC") == []


def test_status_raises_the_first_failure_as_unavailable(driver, fake):
    create(driver, fake, conflist("first", "second", "third", version="1.1.0"))
    driver.status(NET)
    assert fake.order("STATUS") == ["first", "second", "third"]
    fake.forget()
    fake.behave("second", "STATUS", fail={"code": 50, "msg": "the daemon is down"})
    with pytest.raises(Unavailable, match=r"\[code 50\] the daemon is down"):
        driver.status(NET)
    assert fake.order("STATUS") == ["first", "second"]


def test_gc_dels_the_network_s_attachments_no_joined_endpoint_has(driver, fake, sandbox, tmp_path):
    create(driver, fake, conflist("first", version="1.1.0"))
    join(driver, sandbox)
    driver.endpoints[EP].sandbox_key = None  # as if a leave had been lost
    driver.gc(NET)
    assert fake.order("DEL") == ["first"] and cache_files(tmp_path) == []
    assert fake.calls("GC")[0]["stdin"]["cni.dev/valid-attachments"] == []


# ---- timeouts, stderr, errors -----------------------------------------------------------------------


def test_a_plugin_that_hangs_is_killed_at_the_timeout_with_its_children(driver, fake, sandbox):
    fake.install_hanging("hangs")
    create(driver, fake, conflist("hangs"), timeout="0.5")
    started = time.monotonic()
    with pytest.raises(Timeout, match=r'type="hangs".*did not finish within 0.5 s and was killed'):
        join(driver, sandbox)
    assert time.monotonic() - started < 10
    child = int((fake.dir / "child.pid").read_text())
    for _ in range(100):  # the shell's child, which held stdout, went with its group
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        time.sleep(0.02)
    else:
        pytest.fail(f"the hung plugin's child {child} is still running")


def test_stderr_is_in_the_error_with_or_without_an_error_object(driver, fake, sandbox):
    create(driver, fake, conflist("first"))
    fake.behave("first", "ADD", fail={"exit": 2}, stderr="panic: runtime error: index out of range")
    with pytest.raises(Internal, match=r"exited with status 2; its stderr: panic: runtime error"):
        join(driver, sandbox)
    fake.behave("first", "ADD", fail={"code": 7, "msg": "bad"}, stderr="while reading ipam")
    with pytest.raises(InvalidParameter, match=r"\[code 7\] bad; its stderr: while reading ipam"):
        driver.cnm_join(network_id=NET, endpoint_id=EP, sandbox_key=sandbox, dst_name="eth0")


def test_the_stderr_of_a_plugin_that_succeeds_is_logged(driver, fake, sandbox, caplog):
    create(driver, fake, conflist("first"))
    fake.behave("first", "ADD", stderr="warning: hairpin mode is off")
    with caplog.at_level(logging.INFO, logger="pycnm_cni.invoke"):
        join(driver, sandbox)
    assert "hairpin mode is off" in caplog.text


@pytest.mark.parametrize(
    ("code", "family"),
    [
        (1, InvalidParameter),
        (2, InvalidParameter),
        (3, NotFound),
        (4, InvalidParameter),
        (5, Internal),
        (6, InvalidParameter),
        (7, InvalidParameter),
        (11, Unavailable),
        (50, Unavailable),
        (51, Unavailable),
        (999, Internal),
        (120, Internal),
    ],
)
def test_cni_error_codes_become_pycnm_s_typed_errors(driver, fake, sandbox, code, family):
    create(driver, fake, conflist("first"))
    fake.behave("first", "ADD", fail={"code": code, "msg": "m", "details": "d"})
    with pytest.raises(family) as caught:
        join(driver, sandbox)
    failure = caught.value.failure
    assert (failure.code, failure.msg, failure.details, failure.command) == (code, "m", "d", "ADD")
    assert failure.plugin == 'type="first" name="mynet"' and failure.path == str(fake.bin / "first")


def test_an_error_output_that_is_not_json_is_reported_as_it_came(driver, fake, sandbox):
    create(driver, fake, conflist("first"))
    fake.behave("first", "ADD", fail={"raw": "Error: no such file"})
    with pytest.raises(Internal, match=r"its error output is not JSON: 'Error: no such file'"):
        join(driver, sandbox)


def test_a_malformed_result_fails_the_add_naming_the_plugin_and_is_undone(driver, fake, sandbox):
    create(driver, fake, conflist("first", "second"))
    fake.behave("first", "ADD", result={"cniVersion": "1.0.0", "ips": [{"address": "10.22.0.5"}]})
    with pytest.raises(Internal, match=r'type="first".*result pycnm cannot read.*CIDR'):
        join(driver, sandbox)
    assert fake.order("ADD") == ["first"] and fake.order("DEL") == ["second", "first"]


def test_a_missing_plugin_is_refused_when_the_network_is_created(driver, fake):
    with pytest.raises(InvalidParameter, match=rf"no plugin 'nosuch' in {fake.bin}:/usr/lib/cni:/opt/cni/bin"):
        create(driver, fake, conflist("first", "nosuch"))


# ---- options and configurations ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("generic", "message"),
    [
        ({}, "needs its CNI configuration"),
        ({"conflist": "/x.conflist", "config": "{}"}, "not both"),
        ({"conflist": "etc/10-bridge.conflist"}, "absolute path"),
        ({"conflist": "/nonexistent/10.conflist"}, "cannot read CNI configuration /nonexistent/10.conflist"),
        ({"config": "{nope"}, "is not JSON"),
        ({"config": json.dumps({"cniVersion": "1.0.0", "plugins": [{"type": "first"}]})}, "missing network name"),
        ({"config": json.dumps(conflist({"kind": "first"}))}, r"plugins\[0\]: missing 'type'"),
        ({"config": json.dumps(conflist("../first"))}, "names a path"),
        ({"config": json.dumps(conflist({"type": "first", "capabilities": {"mac": "yes"}}))}, "true/false"),
        ({"config": json.dumps(conflist("first", plugins=[]))}, "non-empty list"),
        ({"config": "{}", "timeout": "0"}, "invalid timeout"),
        ({"config": "{}", "timeout": "nan"}, "invalid timeout"),
        ({"config": "{}", "cni_path": "relative/bin"}, "not absolute"),
        ({"config": "{}", "disable_check": "maybe"}, "expected true or false"),
    ],
)
def test_bad_options_and_configurations_are_refused_saying_what_to_change(driver, generic, message):
    with pytest.raises(InvalidParameter, match=message):
        driver.cnm_create_network(network_id=NET, options={labels.GENERIC: generic}, ipv4_data=[], ipv6_data=[])


def test_a_single_plugin_conf_file_runs_as_a_list_of_one(driver, fake, sandbox, tmp_path):
    conf_file = tmp_path / "10-one.conf"
    conf_file.write_text(json.dumps({"cniVersion": "1.0.0", "name": "single", "type": "first", "mtu": 1400}))
    driver.cnm_create_network(
        network_id=NET,
        options={labels.GENERIC: {"conflist": str(conf_file), "cni_path": str(fake.bin)}},
        ipv4_data=[],
        ipv6_data=[],
    )
    join(driver, sandbox)
    (add,) = fake.calls("ADD")
    assert add["stdin"]["name"] == "single" and add["stdin"]["mtu"] == 1400 and add["stdin"]["type"] == "first"


def test_the_conflist_file_is_read_again_when_it_changes_and_del_runs_what_add_ran(driver, fake, sandbox, tmp_path):
    conf_file = tmp_path / "10-net.conflist"
    conf_file.write_text(json.dumps(conflist("first", "second")))
    driver.cnm_create_network(
        network_id=NET,
        options={labels.GENERIC: {"conflist": str(conf_file), "cni_path": str(fake.bin)}},
        ipv4_data=[],
        ipv6_data=[],
    )
    join(driver, sandbox)
    conf_file.write_text(json.dumps(conflist("first", "second", "third")))
    join(driver, sandbox, endpoint_id=EP2)
    assert fake.order("ADD") == ["first", "second", "first", "second", "third"]
    driver.cnm_leave(network_id=NET, endpoint_id=EP)
    assert fake.order("DEL") == ["second", "first"]  # the list its ADD ran, from the cache


def test_an_internal_network_is_refused(driver, fake):
    opts = options(fake)
    opts[labels.INTERNAL] = True
    with pytest.raises(InvalidParameter, match="cannot be internal"):
        driver.cnm_create_network(network_id=NET, options=opts, ipv4_data=[], ipv6_data=[])


def test_the_contract_s_errors_for_unknown_and_joined_objects(driver, fake, sandbox):
    with pytest.raises(NotFound):
        driver.cnm_create_endpoint(network_id=NET, endpoint_id=EP, interface=EndpointInterface(), options={})
    create(driver, fake)
    with pytest.raises(Forbidden):
        create(driver, fake)
    join(driver, sandbox)
    with pytest.raises(Forbidden):
        driver.cnm_join(network_id=NET, endpoint_id=EP, sandbox_key=sandbox, dst_name="eth1")
    with pytest.raises(Forbidden):
        driver.cnm_delete_endpoint(network_id=NET, endpoint_id=EP)
    with pytest.raises(Forbidden):
        driver.cnm_delete_network(network_id=NET)
    with pytest.raises(NotFound):
        driver.cnm_leave(network_id=NET, endpoint_id=EP2)


# ---- addresses and gateways -------------------------------------------------------------------------


def test_no_default_route_in_the_result_gives_no_gateway(driver, fake, sandbox):
    create(driver, fake, conflist("first"))
    fake.behave("first", "ADD", routes=[{"dst": "10.99.0.0/16", "gw": "10.22.0.254"}])
    info = join(driver, sandbox)
    assert info.gateway is None and info.gateway_ipv6 is None and info.static_routes == ()


def test_the_default_route_s_own_gateway_wins_over_the_address_s(driver, fake, sandbox):
    create(driver, fake, conflist("first"))
    fake.behave("first", "ADD", routes=[{"dst": "0.0.0.0/0", "gw": "10.22.0.254"}])
    assert str(join(driver, sandbox).gateway) == "10.22.0.254"


POOL = IPAMData("LocalDefault", "10.30.0.0/24", "10.30.0.1/24")


def test_on_a_subnet_of_pycnm_s_the_plugins_get_its_addresses_as_ips(driver, fake, sandbox):
    conf = conflist({"type": "first", "capabilities": {"ips": True}, "ipam": {"type": "host-local"}})
    create(driver, fake, conf, ipv4=[POOL])
    info = join(driver, sandbox, interface=EndpointInterface(address="10.30.0.7/24"))
    assert fake.calls("ADD")[0]["stdin"]["runtimeConfig"] == {"ips": ["10.30.0.7/24"]}
    assert [str(a) for a in info.configured_addresses] == ["10.30.0.7/24"]


def test_on_a_subnet_of_pycnm_s_other_addresses_from_the_plugins_are_refused_and_undone(driver, fake, sandbox):
    conf = conflist({"type": "first", "capabilities": {"ips": True}, "ipam": {"type": "host-local"}})
    create(driver, fake, conf, ipv4=[POOL])
    fake.behave(
        "first",
        "ADD",
        result={
            "cniVersion": "1.0.0",
            "interfaces": [{"name": "eth0", "sandbox": sandbox}],
            "ips": [{"address": "10.30.0.7/16", "interface": 0}],
        },
    )
    with pytest.raises(InvalidParameter, match=r"gave 10.30.0.7/16, pycnm's subnet says 10.30.0.7/24"):
        join(driver, sandbox, interface=EndpointInterface(address="10.30.0.7/24"))
    assert fake.order("DEL") == ["first"]
    assert fake.calls("DEL")[0]["stdin"]["prevResult"]["ips"][0]["address"] == "10.30.0.7/16"


def test_a_subnet_with_an_ipam_that_ignores_pycnm_s_addresses_is_refused_up_front(driver, fake):
    with pytest.raises(InvalidParameter, match=r'declare "capabilities": \{"ips": true\}'):
        create(driver, fake, conflist({"type": "first", "ipam": {"type": "host-local"}}), ipv4=[POOL])


def test_on_a_subnet_a_list_without_ipam_leaves_addresses_and_gateway_to_pycnm(driver, fake, sandbox):
    create(driver, fake, conflist("first"), ipv4=[POOL])
    fake.behave("first", "ADD", no_ips=True, routes=[])
    info = join(driver, sandbox, interface=EndpointInterface(address="10.30.0.7/24"))
    assert info.configured_addresses == () and str(info.gateway) == "10.30.0.1"
    assert "runtimeConfig" not in fake.calls("ADD")[0]["stdin"]  # no plugin declares ips


# ---- restore and refresh ----------------------------------------------------------------------------


def snapshot(fake: FakePlugins, joined: str | None, conf: dict | None = None, **generic: str) -> NetworkSnapshot:
    opts = options(fake, conf)
    opts[labels.GENERIC].update(generic)
    ep = EndpointSnapshot(EP, EndpointInterface(), {}, sandbox_key=joined, dst_name="eth0" if joined else None)
    return NetworkSnapshot(NET, opts, (), (), (ep,))


def test_a_restarted_driver_dels_from_the_cache_as_the_add_ran(driver, fake, sandbox, tmp_path):
    create(driver, fake)
    join(driver, sandbox)
    final = driver.result(NET, EP)
    fake.forget()
    again = new_driver(tmp_path)  # a new process: nothing in memory
    again.cnm_restore(networks=[snapshot(fake, sandbox, conflist("first"))])  # the list changed since
    assert fake.calls() == []  # nothing to repair: the endpoint is joined
    assert again.result(NET, EP) == final
    again.check(NET, EP)
    again.cnm_leave(network_id=NET, endpoint_id=EP)
    dels = fake.calls("DEL")
    assert [c["plugin"] for c in dels] == ["third", "second", "first"]  # what the ADD ran
    assert all(c["stdin"]["prevResult"] == final for c in dels)


def test_restore_dels_cached_attachments_no_joined_endpoint_has(driver, fake, sandbox, tmp_path):
    create(driver, fake)
    join(driver, sandbox)
    fake.forget()
    again = new_driver(tmp_path)
    again.cnm_restore(networks=[snapshot(fake, None)])  # the store says: not joined (a crash lost the leave)
    assert fake.order("DEL") == ["third", "second", "first"] and cache_files(tmp_path) == []
    # and one of a network the store no longer has
    join(again, sandbox, endpoint_id=EP2)
    fake.forget()
    new_driver(tmp_path).cnm_restore(networks=[])
    assert fake.order("DEL") == ["third", "second", "first"] and cache_files(tmp_path) == []


def test_a_second_restore_forgets_what_the_store_no_longer_has(driver, fake, sandbox):
    create(driver, fake)
    driver.cnm_create_endpoint(network_id=NET, endpoint_id=EP2, interface=EndpointInterface(), options={})
    driver.cnm_restore(networks=[snapshot(fake, None)])
    assert set(driver.endpoints) == {EP}
    driver.cnm_restore(networks=[])
    assert driver.networks == {} and driver.endpoints == {}


def test_refresh_rebuilds_memory_and_runs_no_plugin(driver, fake, sandbox):
    create(driver, fake)
    fake.forget()
    driver.cnm_refresh(networks=[snapshot(fake, sandbox)], removed=[])
    assert driver.endpoints[EP].sandbox_key == sandbox
    driver.cnm_refresh(networks=[], removed=[NET])
    assert NET not in driver.networks and EP not in driver.endpoints
    assert fake.calls() == []


def test_stored_options_that_no_longer_parse_fail_at_use_not_at_restore(driver, fake):
    snap = NetworkSnapshot(NET, {labels.GENERIC: {"conflist": "relative"}}, (), (), ())
    driver.cnm_restore(networks=[snap])
    with pytest.raises(InvalidParameter, match="absolute path"):
        driver.status(NET)
    driver.cnm_delete_network(network_id=NET)  # and the network can still go


# ---- through a Controller on the fake OS layer ------------------------------------------------------


class FakeKernel:
    """Does in the fake OS layer what a real plugin does in the kernel: the interface the driver
    says it made in the sandbox appears there at the join, and goes at the leave."""

    def __init__(self, osl: FakeOSLayer) -> None:
        self.osl = osl
        self.made: dict[str, tuple[str, str]] = {}

    @hookimpl(wrapper=True)
    def cnm_join(self, endpoint_id: str, sandbox_key: str, dst_name: str) -> Any:
        info = yield
        if info.interface_name is not None and info.interface_name.created_in_sandbox:
            self.osl.add_link(sandbox_key, dst_name)
            self.made[endpoint_id] = (sandbox_key, dst_name)
        return info

    @hookimpl(wrapper=True)
    def cnm_leave(self, endpoint_id: str) -> Any:
        result = yield
        key, name = self.made.pop(endpoint_id, ("", ""))
        if key and self.osl.is_namespace(key):
            self.osl.delete_link(key, name)
        return result


@pytest.fixture
def osl(tmp_path: Path) -> FakeOSLayer:
    return FakeOSLayer(str(tmp_path / "kernel.json"))


@pytest.fixture
def make(tmp_path: Path, osl: FakeOSLayer):
    made: list[Controller] = []

    def controller() -> Controller:
        ctl = Controller(
            str(tmp_path / "ctl"),
            netns_dir=str(tmp_path / "ns"),
            netns_prefix="c-",
            ifname_prefix="c",
            plugins=[FakeKernel(osl)],
            osl=osl,
            drivers={"cni": CNIDriver()},
        )
        made.append(ctl)
        return ctl

    yield controller
    for ctl in made:
        ctl.close()


def cni_options(fake: FakePlugins, conf: dict | None = None) -> dict[str, str]:
    return {"config": json.dumps(conf or conflist("first", "second")), "cni_path": str(fake.bin)}


def test_a_connect_records_the_plugins_address_and_gateway_and_a_disconnect_dels(make, osl, fake):
    ctl = make()
    net = ctl.create_network("n", "cni", options=cni_options(fake))
    assert net.record.ipam_driver == "null"  # no subnet: the plugins hand out the addresses
    sb = ctl.create_sandbox("s")
    ep = ctl.connect(net, sb)
    assert str(ep.address) == "10.22.0.5/24" and ep.interface_name == "eth0"
    assert fake.calls("ADD")[0]["env"]["CNI_CONTAINERID"] == ep.id
    assert fake.calls("ADD")[0]["env"]["CNI_NETNS"] == sb.key
    link = osl.links(sb.key)["eth0"]
    assert link["addresses"] == [] and link["up"]  # the plugin addressed it: the core added nothing
    assert osl.routes(sb.key) == {"4": ["eth0", "10.22.0.1"]}
    assert "10.22.0.5\ts" in osl.read_file(sb.hosts_path)
    ctl.disconnect(net, sb)
    assert fake.order("DEL") == ["second", "first"] and net.endpoints() == []
    assert set(osl.links(sb.key)) == {"lo"}


def test_an_option_the_driver_does_not_take_is_refused_by_the_core_listing_the_driver_s(make, fake):
    ctl = make()
    with pytest.raises(InvalidParameter, match=r"unknown option \S*mtu for driver cni; it knows: cni_path, .*config"):
        ctl.create_network("n", "cni", options={**cni_options(fake), "mtu": "1400"})


def test_a_mac_and_published_ports_reach_the_plugins_through_the_controller(make, fake):
    ctl = make()
    conf = conflist(
        {"type": "first", "capabilities": {"portMappings": True}}, {"type": "second", "capabilities": {"mac": True}}
    )
    net = ctl.create_network("n", "cni", options=cni_options(fake, conf))
    ctl.connect(net, ctl.create_sandbox("s"), mac="02:00:00:aa:bb:cc", publish=["127.0.0.1:8080:80/tcp"])
    first, second = (c["stdin"] for c in fake.calls("ADD"))
    assert first["runtimeConfig"] == {
        "portMappings": [{"hostPort": 8080, "containerPort": 80, "protocol": "tcp", "hostIP": "127.0.0.1"}]
    }
    assert second["runtimeConfig"] == {"mac": "02:00:00:aa:bb:cc"}


def test_a_failed_add_through_the_controller_leaves_no_endpoint(make, fake):
    ctl = make()
    net = ctl.create_network("n", "cni", options=cni_options(fake))
    fake.behave("second", "ADD", fail={"code": 11, "msg": "try again"})
    with pytest.raises(Unavailable, match="try again"):
        ctl.connect(net, ctl.create_sandbox("s"))
    assert net.endpoints() == [] and fake.order("DEL") == ["second", "first"]


def test_after_a_restart_of_the_controller_the_disconnect_dels_with_the_cached_result(make, fake):
    ctl = make()
    net = ctl.create_network("n", "cni", options=cni_options(fake))
    sb = ctl.create_sandbox("s")
    ep = ctl.connect(net, sb)
    ctl.close()
    again = make()  # a new process: a new driver, restored from the store and the cache
    assert str(again.network("n").endpoint(ep.id).address) == "10.22.0.5/24"
    again.disconnect("n", "s")
    dels = fake.calls("DEL")
    assert [c["plugin"] for c in dels] == ["second", "first"]
    assert all(c["stdin"]["prevResult"]["ips"][0]["address"] == "10.22.0.5/24" for c in dels)


def test_deleting_the_sandbox_dels_its_attachment_without_a_namespace(make, fake):
    ctl = make()
    net = ctl.create_network("n", "cni", options=cni_options(fake))
    sb = ctl.create_sandbox("s")
    ctl.connect(net, sb)
    sb.delete()
    assert fake.order("DEL") == ["second", "first"]
    assert {c["env"]["CNI_NETNS"] for c in fake.calls("DEL")} == {""}


def test_on_a_subnet_the_controller_s_address_goes_to_the_plugins_and_is_recorded(make, fake):
    ctl = make()
    conf = conflist({"type": "first", "capabilities": {"ips": True}, "ipam": {"type": "host-local"}})
    net = ctl.create_network("n", "cni", subnet="10.30.0.0/24", options=cni_options(fake, conf))
    ep = ctl.connect(net, ctl.create_sandbox("s"))
    assert fake.calls("ADD")[0]["stdin"]["runtimeConfig"] == {"ips": ["10.30.0.2/24"]}
    assert str(ep.address) == "10.30.0.2/24"


def test_on_a_subnet_a_disconnect_gives_the_address_back_to_pycnm_s_ipam(make, fake):
    ctl = make()
    conf = conflist({"type": "first", "capabilities": {"ips": True}, "ipam": {"type": "host-local"}})
    net = ctl.create_network("n", "cni", subnet="10.30.0.0/24", options=cni_options(fake, conf))
    sb = ctl.create_sandbox("s")
    ctl.connect(net, sb)
    ctl.disconnect(net, sb)
    assert str(ctl.connect(net, sb).address) == "10.30.0.2/24"


def test_on_a_subnet_a_list_without_ipam_is_addressed_and_routed_by_the_core(make, osl, fake):
    ctl = make()
    net = ctl.create_network("n", "cni", subnet="10.30.0.0/24", options=cni_options(fake, conflist("first")))
    fake.behave("first", "ADD", no_ips=True, routes=[])
    sb = ctl.create_sandbox("s")
    ep = ctl.connect(net, sb)
    assert osl.links(sb.key)["eth0"]["addresses"] == ["10.30.0.2/24"] and str(ep.address) == "10.30.0.2/24"
    assert osl.routes(sb.key) == {"4": ["eth0", "10.30.0.1"]}
    ctl.disconnect(net, sb)
    assert str(ctl.connect(net, sb).address) == "10.30.0.2/24"  # IPAM's address came back


def test_the_driver_s_check_is_reachable_from_the_controller(make, fake):
    ctl = make()
    net = ctl.create_network("n", "cni", options=cni_options(fake))
    ep = ctl.connect(net, ctl.create_sandbox("s"))
    driver = ctl.network_driver("cni").driver
    driver.check(net.id, ep.id)
    assert fake.order("CHECK") == ["first", "second"]
    fake.behave("first", "CHECK", fail={"code": 3, "msg": "no such container"})
    with pytest.raises(CNMError, match="no such container"):
        driver.check(net.id, ep.id)
