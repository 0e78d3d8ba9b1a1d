"""The helpers of ``cniclients`` with Debian's own CNI plugins (bridge + host-local + portmap).

A stand-in host namespace holds the bridge ``zzh<prefix>br`` (10.251.0.0/24) and a peer namespace
on it at 10.251.0.250. The first plugin of the conflist is a recording wrapper of the bridge
plugin, so each test also checks what the client sent: ADD, then DEL.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from .cniclients import ContainerdEnv, PodmanEnv, busybox_rootfs, recording_plugin

pytestmark = pytest.mark.privileged

PLUGINS = "/usr/lib/cni"
PEER_IP = "10.251.0.250"
GATEWAY = "10.251.0.1"


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


@pytest.fixture
def site(no_leaks, tmp_path, prefix):
    """Namespaces, bridge, plugin dir, conflist; everything named zzh<prefix>..."""
    p = f"zzh{prefix}"
    host, peer = f"/run/netns/{p}-host", f"/run/netns/{p}-peer"
    ip("netns", "add", f"{p}-host")
    try:
        ip("netns", "add", f"{p}-peer")
        for ns in (host, peer):
            ip("-n", ns.rsplit("/", 1)[1], "link", "set", "lo", "up")
        ip("-n", f"{p}-host", "link", "add", f"{p}br", "type", "bridge")
        ip("-n", f"{p}-host", "link", "set", f"{p}br", "up")
        ip("-n", f"{p}-host", "link", "add", f"{p}v", "type", "veth", "peer", "name", "eth0", "netns", f"{p}-peer")
        ip("-n", f"{p}-host", "link", "set", f"{p}v", "master", f"{p}br", "up")
        ip("-n", f"{p}-peer", "addr", "add", f"{PEER_IP}/24", "dev", "eth0")
        ip("-n", f"{p}-peer", "link", "set", "eth0", "up")

        plugins, conf = tmp_path / "plugins", tmp_path / "conf"
        plugins.mkdir()
        conf.mkdir()
        for name in ("bridge", "host-local", "portmap"):
            (plugins / name).symlink_to(f"{PLUGINS}/{name}")
        log = tmp_path / "cni.log"
        recording_plugin(plugins, "rec", f"{PLUGINS}/bridge", log)
        net = {
            "cniVersion": "0.4.0",
            "name": f"{p}net",
            "plugins": [
                {
                    "type": "rec",
                    "bridge": f"{p}br",
                    "isGateway": True,
                    "ipMasq": False,
                    "ipam": {
                        "type": "host-local",
                        "dataDir": str(tmp_path / "ipam"),
                        "routes": [{"dst": "0.0.0.0/0"}],
                        "ranges": [[{"subnet": "10.251.0.0/24", "gateway": GATEWAY}]],
                    },
                },
                {"type": "portmap", "capabilities": {"portMappings": True}},
            ],
        }
        (conf / "10-net.conflist").write_text(json.dumps(net, indent=1))
        yield {
            "prefix": p, "host": host, "net": net["name"], "plugins": plugins, "conf": conf, "log": log,
            "ipam": tmp_path / "ipam" / net["name"], "rootfs": busybox_rootfs(tmp_path / "rootfs"),
        }  # fmt: skip
    finally:
        subprocess.run(["ip", "netns", "del", f"{p}-peer"], capture_output=True, check=False)
        subprocess.run(["ip", "netns", "del", f"{p}-host"], capture_output=True, check=False)


def commands(log) -> list[str]:
    return [line[4:] for line in log.read_text().splitlines() if line.startswith("=== ")] if log.exists() else []


def leases(ipam) -> list[str]:
    return sorted(f.name for f in ipam.glob("10.*")) if ipam.exists() else []


def http_get(netns: str, url: str, tries: int = 30) -> str | None:
    code = "import sys,urllib.request;print(urllib.request.urlopen(sys.argv[1],timeout=2).read().decode())"
    for _ in range(tries):
        out = subprocess.run(
            ["nsenter", f"--net={netns}", sys.executable, "-c", code, url],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if out.returncode == 0:
            return out.stdout.strip()
        time.sleep(0.2)
    return None


def test_podman_run_pings_the_peer_and_publishes_a_port(site, tmp_path):
    with PodmanEnv(tmp_path, site["plugins"], site["conf"], netns=site["host"], name=f"{site['prefix']}pm") as pm:
        out = pm.run(
            "run", "--rm", "--network", site["net"], "--rootfs", site["rootfs"], "/bin/ping", "-c1", "-W3", PEER_IP
        )
        assert out.returncode == 0, out.stderr
        assert "1 packets received" in out.stdout
        sent = commands(site["log"])
        assert [c for c in sent if c != "VERSION"] == ["ADD", "DEL"] and sent[0] == "VERSION", sent
        assert leases(site["ipam"]) == []  # the DEL came before run returned

        (site["rootfs"] / "var/www/index.html").write_text("hello from the container\n")
        pm.run(
            "run", "-d", "--name", "web", "--network", site["net"], "-p", "8080:80", "--ip", "10.251.0.77",
            "--rootfs", site["rootfs"], "/bin/httpd", "-f", "-p", "80", "-h", "/var/www", check=True,
        )  # fmt: skip
        assert http_get(site["host"], f"http://{GATEWAY}:8080/") == "hello from the container"
        add = site["log"].read_text().split("=== ADD")[-1]
        assert "CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAME=web;IP=10.251.0.77" in add
        pm.run("rm", "-f", "-t", "0", "web", check=True)
        assert commands(site["log"])[-1] == "DEL"
        assert leases(site["ipam"]) == []


def test_ctr_run_pings_the_peer(site, tmp_path):
    with ContainerdEnv(tmp_path, site["plugins"], site["conf"], netns=site["host"], name=f"{site['prefix']}ctr") as cd:
        out = cd.ctr("run", "--rm", "--cni", "--rootfs", site["rootfs"], "c1", "/bin/ping", "-c1", "-W3", PEER_IP)
        assert out.returncode == 0, out.stderr
        assert "1 packets received" in out.stdout
        assert commands(site["log"]) == ["ADD", "DEL"]  # ctr never asks VERSION
        text = site["log"].read_text()
        assert f"CNI_CONTAINERID={site['prefix']}ctr-c1" in text
        assert "CNI_NETNS=\n" in text.split("=== DEL")[1]  # DEL comes without the (gone) namespace
        assert leases(site["ipam"]) == []
