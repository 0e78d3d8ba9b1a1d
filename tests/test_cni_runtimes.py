"""Real runtimes on pycnm networks through pycnm-cni: podman 4.3 (its CNI backend) and containerd
1.6's ``ctr run --cni``, each private and offline (tests/cniclients.py), with a busybox rootfs.

The conflist is the one ``pycnm cni conflist`` writes; the plugin directory is the one ``pycnm cni
install`` fills. Both runtimes run in their own mount namespaces, where ``/run/netns`` is not the
daemon's: the daemon opens the namespace podman names through the plugin's process (its
``/proc/PID/root``) and pins it for as long as the attachment lives."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from .cniclients import ContainerdEnv, PodmanEnv, busybox_rootfs
from .helpers import in_ns
from .netlab import HOST_IP

pytestmark = pytest.mark.privileged


def pycnm(cni, *argv: str) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "pycnm.cli", "--state-dir", cni.ctl.state_dir, "-H", f"unix://{cni.sock}", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.fixture
def runtime_dirs(cni, tmp_path):
    """The runtime's CNI config directory, holding the network's conflist as the CLI writes it."""
    conf = tmp_path / "net.d"
    conf.mkdir()
    written = pycnm(cni, "cni", "conflist", cni.network, "-o", str(conf)).strip()
    assert written == str(conf / f"{cni.network}.conflist")
    assert json.loads((conf / f"{cni.network}.conflist").read_text())["plugins"][0]["type"] == "pycnm-cni"
    return conf


def http_get(key: str, url: str) -> str | None:
    code = "import sys,urllib.request;print(urllib.request.urlopen(sys.argv[1],timeout=3).read().decode())"
    for _ in range(30):
        out = in_ns(key, sys.executable, "-c", code, url)
        if out.returncode == 0:
            return out.stdout.strip()
    return None


def test_podman_runs_a_container_on_a_pycnm_network(cni, runtime_dirs, tmp_path):
    sb = cni.ctl.create_sandbox(f"{cni.prefix}-peer")
    peer = cni.ctl.connect(cni.network, sb)
    rootfs = busybox_rootfs(tmp_path / "rootfs")
    with PodmanEnv(tmp_path, cni.bin, runtime_dirs, netns=cni.lab.host, name=f"{cni.prefix}pm") as pm:
        out = pm.run("run", "--rm", "--network", cni.network, "--rootfs", rootfs, "/bin/ping", "-c1", "-W3",
                     str(peer.address.ip))  # fmt: skip
        assert out.returncode == 0, out.stderr
        assert [s.name for s in cni.ctl.sandboxes()] == [sb.name]  # --rm: podman's DEL took it all back

        (rootfs / "var/www/index.html").write_text("hello from podman\n")
        pm.run("run", "-d", "--name", "web", "--network", cni.network, "-p", f"{HOST_IP}:18090:80",
               "--ip", "10.214.0.90", "--mac-address", "02:42:0a:d6:00:5a", "--rootfs", rootfs,
               "/bin/httpd", "-f", "-p", "80", "-h", "/var/www", check=True)  # fmt: skip
        inspect = json.loads(pm.run("inspect", "web", check=True).stdout)[0]
        seen = inspect["NetworkSettings"]["Networks"][cni.network]
        assert seen["IPAddress"] == "10.214.0.90" and seen["MacAddress"] == "02:42:0a:d6:00:5a"
        assert seen["Gateway"] == "10.214.0.1"
        (ctr,) = [s for s in cni.ctl.sandboxes() if s.name != sb.name]
        assert ctr.external and ctr.endpoints()[0].address.ip.exploded == "10.214.0.90"
        # the container's name, as podman gives it, names the endpoint: the embedded DNS answers it
        assert ctr.endpoints()[0].name == "web" and ctr.hostname == "web"
        # podman's /run/netns is its own mount namespace's: the daemon pinned the namespace
        pins = os.path.join(cni.ctl.state_dir, "cni", "netns")
        assert os.path.dirname(ctr.key) == pins and not os.path.exists(
            json.loads(pm.run("inspect", "--format", "{{json .NetworkSettings.SandboxKey}}", "web", check=True).stdout)
        )
        assert http_get(cni.lab.outside, f"http://{HOST_IP}:18090/") == "hello from podman"  # published by pycnm
        assert http_get(sb.key, "http://10.214.0.90/") == "hello from podman"  # and reached on the network
        pm.run("rm", "-f", "-t", "0", "web", check=True)
        assert [s.name for s in cni.ctl.sandboxes()] == [sb.name] and os.listdir(pins) == []
        assert http_get(cni.lab.outside, f"http://{HOST_IP}:18090/") is None


def test_ctr_runs_a_container_on_a_pycnm_network(cni, runtime_dirs, tmp_path):
    sb = cni.ctl.create_sandbox(f"{cni.prefix}-peer")
    peer = cni.ctl.connect(cni.network, sb)
    rootfs = busybox_rootfs(tmp_path / "rootfs")
    with ContainerdEnv(tmp_path, cni.bin, runtime_dirs, netns=cni.lab.host, name=f"{cni.prefix}cd") as cd:
        out = cd.ctr("run", "--rm", "--cni", "--rootfs", rootfs, "c1", "/bin/sh", "-c",
                     f"ip -4 addr show eth0 && ping -c1 -W3 {peer.address.ip}")  # fmt: skip
        assert out.returncode == 0, out.stderr
        assert "inet 10.214.0." in out.stdout and "1 packets received" in out.stdout
    # ctr's DEL comes after its task ended, without the namespace (gone): pycnm's side is gone too
    assert [s.name for s in cni.ctl.sandboxes()] == [sb.name]
    assert [e.name for e in cni.ctl.network(cni.network).endpoints()] == [peer.name]
