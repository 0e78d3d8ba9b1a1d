"""pycnm.osl.fds: kept sockets move above FD_SETSIZE, where libnftables' select() cannot meet them."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap

from pycnm.osl import fds


def test_a_socket_moves_above_fd_setsize_and_stays_the_same_socket():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    low, address = sock.fileno(), sock.getsockname()
    moved = fds.high(sock)
    try:
        assert moved.fileno() >= fds.FLOOR > low
        assert sock.fileno() == -1, "the original descriptor is closed"
        assert moved.getsockname() == address and moved.type == socket.SOCK_DGRAM
        assert not moved.get_inheritable()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as peer:
            peer.sendto(b"ping", address)
            moved.settimeout(2)
            assert moved.recv(16) == b"ping"
    finally:
        moved.close()


def test_under_a_limit_of_fd_setsize_the_socket_stays_where_it_is():
    # a soft limit of 1024 (a service's usual default) leaves no room above: nothing moves
    script = textwrap.dedent("""
        import resource, socket
        from pycnm.osl import fds
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
        sock = socket.socket()
        fd = sock.fileno()
        assert fds.high(sock) is sock and sock.fileno() == fd
        soft, hard = fds.raise_limit()
        assert soft == resource.getrlimit(resource.RLIMIT_NOFILE)[0] and soft > 1024 or hard <= 1024
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
