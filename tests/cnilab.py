"""A pycnm daemon serving pycnm-cni in the lab (tests/netlab.py): the daemon and the test's thread
in a namespace standing in for the host, pycnm-cni installed in a directory of the test's, a
bridge network, and the runtime's namespaces at paths the test owns (``<prefix>rtN``)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from pycnm.cni import spec

SUBNET = "10.214.0.0/24"


class CNILab:
    """A daemon in the lab's host, pycnm-cni installed in a directory of the test's, a bridge
    network, and the runtime's side: namespaces made at paths the test owns."""

    def __init__(self, lab, tmp_path, prefix, ctl) -> None:
        self.lab, self.tmp, self.prefix, self.ctl = lab, tmp_path, prefix, ctl
        self.sock = str(tmp_path / "d.sock")
        self.bin = tmp_path / "bin"
        self.proc: subprocess.Popen | None = None
        self.namespaces: list[str] = []
        self.network = f"{prefix}-net"
        ctl.create_network(
            self.network, "bridge", subnet=SUBNET, options={"com.docker.network.bridge.name": f"{prefix}br"}
        )
        self.bin.mkdir()
        # as an operator installs it: `pycnm cni install DIR` (compiled, run by /usr/bin/python3 -IS)
        out = subprocess.run([sys.executable, "-m", "pycnm.cli", "cni", "install", str(self.bin)],
                             capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
        assert out.returncode == 0, out.stderr
        self.plugin = out.stdout.strip()

    # ---- the daemon ------------------------------------------------------------------------------

    def start(self) -> CNILab:
        env = dict(
            os.environ,
            PYCNM_STATE_DIR=self.ctl.state_dir,
            PYCNM_NETNS_PREFIX=f"{self.prefix}-",
            PYCNM_IFNAME_PREFIX=self.prefix,
            PYCNM_DISABLE_PLUGINS="1",
        )
        with open(self.tmp / "daemon.log", "ab") as log:
            self.proc = subprocess.Popen(
                [
                    "nsenter",
                    f"--net={self.lab.host}",
                    sys.executable,
                    "-m",
                    "pycnm.cli",
                    "daemon",
                    "--no-dns",
                    "-H",
                    f"unix://{self.sock}",
                ],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while not self.answers():
            assert self.proc.poll() is None, (self.tmp / "daemon.log").read_text()
            assert time.monotonic() < deadline, "the daemon did not start"
            time.sleep(0.05)
        return self

    def answers(self) -> bool:
        status = self.cni({"CNI_COMMAND": "STATUS"}, self.conf("1.1.0"))
        return status[0] == 0

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=30)
        self.proc = None

    # ---- the runtime's side ---------------------------------------------------------------------

    def netns(self, n: int) -> str:
        path = f"/run/netns/{self.prefix}rt{n}"
        subprocess.run(["ip", "netns", "add", os.path.basename(path)], check=True)
        self.namespaces.append(path)
        return path

    def conf(self, version: str = "1.0.0", caps=spec.DEFAULT_CAPABILITIES, **extra) -> dict:
        conflist = spec.conflist(
            self.network, cni_version=version, socket=self.sock, state_dir=self.ctl.state_dir, capabilities=caps
        )
        plugin = dict(conflist["plugins"][0], name=self.network, cniVersion=version)
        plugin.update(extra)
        return plugin

    def cni(self, env: dict, config: dict) -> tuple[int, dict | None, str]:
        """Exec pycnm-cni as a runtime does: the variables, the config on stdin."""
        base = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "CNI_PATH": f"{self.bin}:/usr/lib/cni"}
        out = subprocess.run(
            [self.plugin],
            input=json.dumps(config).encode(),
            env={**base, **env},
            capture_output=True,
            timeout=60,
            check=False,
        )
        text = out.stdout.decode()
        return out.returncode, (json.loads(text) if text.strip() else None), out.stderr.decode()

    def add(self, netns: str, cid: str, config: dict | None = None, ifname: str = "eth0") -> dict:
        rc, result, err = self.cni(attachment("ADD", cid, netns, ifname), config or self.conf())
        assert rc == 0, (result, err)
        return result

    def delete(self, netns: str | None, cid: str, config: dict | None = None, ifname: str = "eth0") -> None:
        rc, result, err = self.cni(attachment("DEL", cid, netns, ifname), config or self.conf())
        assert rc == 0 and result is None, (result, err)

    def close(self) -> None:
        self.stop()
        for path in self.namespaces:
            subprocess.run(["ip", "netns", "del", os.path.basename(path)], check=False)


def attachment(command: str, cid: str, netns: str | None, ifname: str = "eth0", **more: str) -> dict:
    env = {"CNI_COMMAND": command, "CNI_CONTAINERID": cid, "CNI_IFNAME": ifname, **more}
    if netns:
        env["CNI_NETNS"] = netns
    return env
