"""The embedded DNS engine alone, on loopback: queries per second and microseconds per query,
for local names and for forwarded ones, measured with dnsperf side by side with two floors.

    python bench/dns_engine.py [--seconds 4] [--repeat 3] [--gc freeze] [--write docs/benchmarks.md]

Runs (each one dnsperf run of ``--seconds``, 8 clients, 100 outstanding):

- *floor*: a bare Python loop answering every query from one byte template through the same
  recvmmsg/sendmmsg code (``pycnm.dns.udpio``): what any Python resolver costs on this machine;
- *local*: the resolver answering a container name, batched I/O and plain recvfrom/sendto;
- *upstream alone*: the stub upstream (TTL 0 answers) asked directly: the forwarding floor;
- *forwarded*: the resolver forwarding 50,000 distinct names to that stub (TTL 0: no cache help,
  and distinct names: almost nothing to coalesce);
- latency at a steady 2,000 q/s (dnsperf ``-Q 2000 -v``), local and forwarded, p50 and p99.

Then where the microseconds of one query go, measured in-process with perf counters around each
step (no system calls: those are what the server's CPU time per query has on top), and the
import cost of the engine. The resolver, the stub and the floor each run in a process of their
own, so dnsperf, server and stub share the machine's CPUs as they would in production.
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from _report import write_section

LOCAL_NAME = "web"
FORWARDED_NAMES = 50000


# --- the processes dnsperf talks to --------------------------------------------------------------


def _bound(port: int, address: str = "127.0.0.1") -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 21)
    sock.bind((address, port))
    sock.setblocking(False)
    return sock


def serve_template(port: int, answer: bytes, address: str = "127.0.0.1") -> None:
    """The floor, and the upstream stub: any query answered from a template (its ID patched)."""
    import select

    from pycnm.dns import udpio

    sock = _bound(port, address)
    batch = udpio.Batch(socket.AF_INET)
    poller = select.epoll()
    poller.register(sock.fileno(), select.EPOLLIN)
    fd, view, lengths, stride, slot = sock.fileno(), batch.view, batch.lengths, batch.len_stride, udpio.SLOT_SIZE
    header = b"\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00"
    print("ready", flush=True)
    while True:
        poller.poll()
        while True:
            n = batch.recv(fd)
            if n <= 0:
                break
            for i, length in enumerate(lengths[0 : n * stride : stride]):
                data = view[i * slot : i * slot + length].tobytes()
                end = 12
                while end < length and data[end]:
                    end += data[end] + 1
                batch.put(i, i, b"".join((data[:2], header, data[12 : end + 5], answer)))
            batch.send(fd, n)
            if n < udpio.SLOTS:
                break


def serve_resolver(port: int, upstream: int, batch_io: bool, gc_mode: str) -> None:
    """The engine: one client socket, a local name, forwarding to ``upstream`` if not 0."""
    from pycnm.dns import Forwarding, Names, Resolver, Upstream

    names = Names(local_ttl=600)
    names.set_network("n1", "front")
    names.set_endpoint("n1", "e1", names=[LOCAL_NAME], ipv4="10.0.0.2")
    forwarding = Forwarding(upstreams=[Upstream("127.0.0.1", upstream)] if upstream else [])
    names.set_client("c1", networks=["n1"], forwarding=forwarding)
    resolver = Resolver(names, batch_io=batch_io)
    resolver.add_client("c1", _bound(port), None)
    if gc_mode == "freeze":
        gc.freeze()  # what a daemon may do once started: the start-up objects are never scanned again
    print("ready", flush=True)
    resolver._run()


A_RECORD_TTL0 = b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x00\x00\x04\xc0\x00\x02\x01"
A_RECORD_TTL600 = b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x02\x58\x00\x04\x0a\x00\x00\x02"


def _start(*args: str) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, __file__, "--serve", *args], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    return proc


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- dnsperf -------------------------------------------------------------------------------------


def dnsperf(port: int, datafile: str, seconds: float, *extra: str) -> str:
    cmd = ["dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", datafile, "-c", "8", "-l", str(seconds), *extra]
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout


REPEAT = 1


def throughput(server: subprocess.Popen, port: int, datafile: str, seconds: float) -> dict[str, float]:
    """The median of ``REPEAT`` dnsperf runs (by q/s), with the server's CPU time per query."""
    runs = []
    for _ in range(REPEAT):
        before = _cpu(server.pid)
        out = dnsperf(port, datafile, seconds, "-q", "100")
        cpu = _cpu(server.pid) - before
        qps = float(re.search(r"Queries per second:\s+([\d.]+)", out).group(1))
        done = int(re.search(r"Queries completed:\s+(\d+)", out).group(1))
        lost = int(re.search(r"Queries lost:\s+(\d+)", out).group(1))
        runs.append({"qps": qps, "cpu_us": cpu / max(done, 1) * 1e6, "lost": lost})
    return sorted(runs, key=lambda run: run["qps"])[len(runs) // 2]


def latency(port: int, datafile: str, seconds: float) -> tuple[float, float]:
    return percentiles(dnsperf(port, datafile, seconds, "-Q", "2000", "-v"))


def samples(out: str) -> list[float]:
    """The per-query latencies in ms that ``dnsperf -v`` printed in ``out``, sorted."""
    return sorted(float(m) * 1e3 for m in re.findall(r"^> \S+ \S+ \S+ ([\d.]+)$", out, re.M))


def of(values: list[float]) -> tuple[float, float]:
    """p50 and p99 of sorted ``values``."""
    if not values:
        return float("nan"), float("nan")
    return values[len(values) // 2], values[int(len(values) * 0.99)]


def percentiles(out: str) -> tuple[float, float]:
    """p50 and p99 in ms of the per-query latencies ``dnsperf -v`` printed in ``out``."""
    return of(samples(out))


# --- in-process breakdown -----------------------------------------------------------------------


def breakdown(rounds: int = 20000) -> list[tuple[str, float]]:
    """Microseconds per step of one query, without the system calls."""
    import dns.message

    from pycnm.dns import Forwarding, Names, Resolver, Upstream, wire
    from pycnm.dns.stub import LoopbackClient

    names = Names(local_ttl=600)
    names.set_network("n1", "front")
    names.set_endpoint("n1", "e1", names=[LOCAL_NAME], ipv4="10.0.0.2")
    upstream = _bound(0)
    sink = _bound(0)
    names.set_client(
        "c1", networks=["n1"], forwarding=Forwarding(upstreams=[Upstream("127.0.0.1", upstream.getsockname()[1])])
    )
    resolver = Resolver(names)
    LoopbackClient(resolver, "c1")
    client = resolver._clients["c1"]
    resolver._refresh(client, names.snapshot)
    forwarder = resolver.forwarder
    local = dns.message.make_query(LOCAL_NAME, "A").to_wire()
    queries = [dns.message.make_query(f"n{i}.example.com", "A").to_wire() for i in range(rounds)]
    where = b"\x02\x00" + sink.getsockname()[1].to_bytes(2, "big") + b"\x7f\x00\x00\x01" + bytes(8)
    pc = time.perf_counter
    steps: list[tuple[str, float]] = []

    def per(label: str, fn, n: int = rounds) -> None:
        start = pc()
        fn(n)
        steps.append((label, (pc() - start) / n * 1e6))

    per("parse the question (fast path)", lambda n: [wire.parse_query(local) for _ in range(n)])
    resolver._query(client, local, None, where)
    memo = client.memo
    per("local name, memo hit: dict lookup + ID patch", lambda n: [local[:2] + memo.get(local[2:]) for _ in range(n)])
    per(
        "local name, first sight: parse, look up, build, memoize",
        lambda n: [(memo.clear(), resolver._query(client, local, None, where)) for _ in range(n)],
    )
    resolver._query(client, local, None, where)
    asker = _bound(0)
    target = ("127.0.0.1", client.sock.getsockname()[1])

    def batches(n: int) -> None:
        for _ in range(n // 64):
            for _ in range(64):
                asker.sendto(local, target)
            start = pc()
            resolver._udp_batch(client)
            spent[0] += pc() - start
            for _ in range(64):
                asker.recv(512)

    spent = [0.0, 0.0, 0.0]
    batch = resolver._batches[socket.AF_INET]
    recv, send = batch.recv, batch.send

    def timed(index: int, fn):
        def call(*args):
            start = pc()
            try:
                return fn(*args)
            finally:
                spent[index] += pc() - start

        return call

    batch.recv, batch.send = timed(1, recv), timed(2, send)  # instance attributes shadow the methods
    batches(rounds)
    del batch.recv, batch.send
    steps.append(("local name, whole batches of 64 (recvmmsg, memo, sendmmsg), per query", spent[0] / rounds * 1e6))
    steps.append(("  of which recvmmsg (system call)", spent[1] / rounds * 1e6))
    steps.append(("  of which sendmmsg (system call)", spent[2] / rounds * 1e6))
    asker.close()
    timings = [0.0, 0.0, 0.0, 0.0]
    gc.collect()
    for start in range(0, rounds, 100):
        chunk = queries[start : start + 100]
        t0 = pc()
        for query in chunk:
            resolver._query(client, query, None, where)
        t1 = pc()
        forwarder.flush()
        t2 = pc()
        while True:
            try:
                upstream.recv(4096)
            except BlockingIOError:
                break
        replies = []
        for pending in list(forwarder.pending.values()):
            _, _, usock, qid, _ = pending.attempts[0]
            body = pending.qbody
            replies.append(
                (
                    usock,
                    qid.to_bytes(2, "big")
                    + b"\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00"
                    + body[10 : 10 + len(pending.question)]
                    + A_RECORD_TTL0,
                )
            )
        t3 = pc()
        for usock, data in replies:
            forwarder._reply(usock, data)
        t4 = pc()
        resolver._flush()
        t5 = pc()
        while True:
            try:
                sink.recv(4096)
            except BlockingIOError:
                break
        for i, span in enumerate((t1 - t0, t4 - t3, t2 - t1, t5 - t4)):
            timings[i] += span
    labels = [
        "forwarded: parse, cache miss, coalesce check, queue upstream",
        "forwarded: match the reply, answer the client, cache check",
        "forwarded: sendmmsg of the queued queries (system call, per query)",
        "forwarded: sendmmsg of the queued answers (system call, per query)",
    ]
    steps += [(label, value / rounds * 1e6) for label, value in zip(labels, timings, strict=True)]
    resolver.stop()
    upstream.close()
    sink.close()
    return steps


def import_cost() -> dict[str, float]:
    """Cumulative import time (ms) of the engine and of dnspython's message module."""
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import pycnm.dns"], capture_output=True, text=True, check=False
    ).stderr
    costs = {}
    for line in out.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \|\s*(\S+)$", line)
        if match and match.group(2) in ("pycnm.dns", "dns.message", "pycnm.dns.server", "pycnm"):
            costs[match.group(2)] = int(match.group(1)) / 1000
    return costs


# --- main ------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="each dnsperf run (keep it <= 10)")
    parser.add_argument("--repeat", type=int, default=1, help="dnsperf runs per row; the median is shown")
    parser.add_argument(
        "--gc",
        choices=["default", "freeze"],
        default="default",
        help="freeze: gc.freeze() in the resolver process once it is set up",
    )
    parser.add_argument("--write")
    parser.add_argument("--serve", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        kind, *rest = args.serve
        if kind == "floor":
            serve_template(int(rest[0]), A_RECORD_TTL600)
        elif kind == "stub":
            serve_template(int(rest[0]), A_RECORD_TTL0)
        else:
            serve_resolver(int(rest[0]), int(rest[1]), rest[2] == "batch", rest[3])
        return
    if shutil.which("dnsperf") is None:
        sys.exit("dnsperf is needed: apt-get install -y dnsperf")
    seconds = min(args.seconds, 10.0)
    global REPEAT  # noqa: PLW0603 - the script's one setting, read by the measuring functions
    REPEAT = max(1, args.repeat)
    rows: list[tuple[str, dict[str, float]]] = []
    with tempfile.TemporaryDirectory() as work:
        local_file = os.path.join(work, "local.txt")
        with open(local_file, "w") as fh:
            fh.write(f"{LOCAL_NAME} A\n")
        forward_file = os.path.join(work, "forwarded.txt")
        with open(forward_file, "w") as fh:
            fh.writelines(f"n{i}.example.com A\n" for i in range(FORWARDED_NAMES))
        procs = []
        try:
            port = _free_port()
            floor = _start("floor", str(port))
            procs.append(floor)
            rows.append(("floor: template answers, batched I/O", throughput(floor, port, local_file, seconds)))
            floor_latency = latency(port, local_file, 3)
            floor.kill()
            port = _free_port()
            local = _start("resolver", str(port), "0", "batch", args.gc)
            procs.append(local)
            rows.append(("pycnm, local name", throughput(local, port, local_file, seconds)))
            local_latency = latency(port, local_file, 3)
            local.kill()
            port = _free_port()
            plain = _start("resolver", str(port), "0", "plain", args.gc)
            procs.append(plain)
            rows.append(("pycnm, local name, recvfrom/sendto", throughput(plain, port, local_file, seconds)))
            plain.kill()
            stub_port = _free_port()
            stub = _start("stub", str(stub_port))
            procs.append(stub)
            rows.append(("upstream stub alone (TTL 0)", throughput(stub, stub_port, forward_file, seconds)))
            port = _free_port()
            forward = _start("resolver", str(port), str(stub_port), "batch", args.gc)
            procs.append(forward)
            rows.append(("pycnm, forwarded (TTL 0, 50k names)", throughput(forward, port, forward_file, seconds)))
            forward_latency = latency(port, forward_file, 3)
        finally:
            for proc in procs:
                proc.kill()
                proc.wait()
    steps = breakdown()
    imports = import_cost()
    lines = ["| run | q/s | server CPU µs/query | lost |", "|---|---|---|---|"]
    for label, row in rows:
        lines.append(f"| {label} | {row['qps']:,.0f} | {row['cpu_us']:.1f} | {row['lost']} |")
    lines += [
        "",
        "| at 2,000 q/s | p50 ms | p99 ms |",
        "|---|---|---|",
        f"| floor | {floor_latency[0]:.3f} | {floor_latency[1]:.3f} |",
        f"| pycnm, local name | {local_latency[0]:.3f} | {local_latency[1]:.3f} |",
        f"| pycnm, forwarded | {forward_latency[0]:.3f} | {forward_latency[1]:.3f} |",
        "",
        "| one query, in-process (no system calls unless said) | µs |",
        "|---|---|",
    ]
    lines += [f"| {label} | {value:.2f} |" for label, value in steps]
    lines += ["", "Import: " + ", ".join(f"`{k}` {v:.0f} ms" for k, v in sorted(imports.items())) + " (cumulative)."]
    goals = {"local": rows[1][1]["qps"] / 108700, "forwarded": rows[4][1]["qps"] / 80400}
    lines += [
        "",
        (
            f"Against the goals: local {goals['local']:.2f}x aardvark-dns's 108,700 q/s; forwarded "
            f"{goals['forwarded']:.2f}x the 80,400 q/s goal (twice aardvark's 40,200); p99 at 2,000 q/s "
            f"{local_latency[1]:.3f} ms local (goal < 0.25 ms; the floor's {floor_latency[1]:.3f} ms in the same run). "
            "Loopback here, namespaces there: indicative."
        ),
    ]
    text = "\n".join(lines)
    print(text)
    if args.write:
        write_section(
            args.write, "dns-engine", "Embedded DNS engine on loopback (dnsperf, 8 clients, 100 outstanding)", text
        )


if __name__ == "__main__":
    main()
