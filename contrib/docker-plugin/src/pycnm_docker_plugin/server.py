"""The plugin's HTTP server: ``POST /<Method>`` on a unix socket, as dockerd calls it.

HTTP/1.1 with keep-alive (dockerd reuses its connection), one thread per connection; the
service serialises the calls themselves.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import socketserver
import sys
import threading
from http.server import BaseHTTPRequestHandler

from .service import PluginService, Unknown

CONTENT_TYPE = "application/vnd.docker.plugins.v1.2+json"
log = logging.getLogger("pycnm_docker_plugin")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: PluginServer

    def do_POST(self) -> None:
        method = self.path.lstrip("/")
        length_text = self.headers.get("Content-Length") or "0"
        if not length_text.isascii() or not length_text.isdigit():
            # a negative length would read to EOF, which on a kept-alive connection never comes
            self.close_connection = True
            self._reply(400, {"Err": f"{method}: bad Content-Length {length_text!r}; send the body's size in bytes"})
            return
        length = int(length_text)
        raw = self.rfile.read(length) if length else b""
        try:
            payload = json.loads(raw) if raw.strip() else None
        except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
            self._reply(400, {"Err": f"{method}: the body is not JSON (or is nested too deep)"})
            return
        try:
            answer = self.server.service.handle(method, payload)
        except Unknown:
            self._reply(404, {"Err": f"{method} is not implemented by this plugin"})
            return
        except Exception as exc:  # a bug: answer it, keep serving
            log.exception("%s failed", method)
            self._reply(500, {"Err": f"{method}: internal error: {exc}"})
            return
        self._reply(200, answer)

    def _reply(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", CONTENT_TYPE)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def address_string(self) -> str:  # unix sockets have no client address
        return "unix"

    def log_message(self, fmt: str, *args) -> None:
        log.debug(fmt, *args)


class PluginServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def __init__(self, path: str, service: PluginService) -> None:
        self.service = service
        self.path = path
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if os.path.exists(path):
            os.unlink(path)
        # made 0660 from the start (the umask applies at bind), not chmod'ed after: no moment in
        # which another user could connect; root-owned as the process that binds it
        mask = os.umask(0o117)
        try:
            super().__init__(path, Handler)
        finally:
            os.umask(mask)
        os.chmod(path, 0o660)

    def server_close(self) -> None:
        super().server_close()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


def serve(service: PluginService, socket_path: str, ready: threading.Event | None = None) -> PluginServer:
    """Start serving in a thread; returns the server (``shutdown()`` then ``server_close()`` stop it)."""
    server = PluginServer(socket_path, service)
    threading.Thread(target=server.serve_forever, name="pycnm-docker-plugin", daemon=True).start()
    if ready is not None:
        ready.set()
    return server


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="pycnm-docker-plugin", description=__doc__.splitlines()[0])
    parser.add_argument("--driver", required=True, help="the pycnm network driver to serve (e.g. bridge)")
    parser.add_argument("--name", help="the plugin's name, used as -d NAME by docker (default pycnm-DRIVER)")
    parser.add_argument("--socket-dir", default=os.environ.get("PYCNM_PLUGIN_SOCKET_DIR", "/run/docker/plugins"))
    parser.add_argument("--state-dir", default=None, help="default /var/lib/pycnm/docker-plugin/NAME")
    parser.add_argument("--ifname-prefix", default=os.environ.get("PYCNM_IFNAME_PREFIX", ""))
    parser.add_argument("--no-ipam", action="store_true", help="do not serve pycnm's default IPAM")
    parser.add_argument("--debug", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.INFO, format="%(levelname)s %(message)s")
    name = args.name or f"pycnm-{args.driver}"
    state = args.state_dir or os.path.join("/var/lib/pycnm/docker-plugin", name)
    service = PluginService(args.driver, state, ifname_prefix=args.ifname_prefix, ipam=not args.no_ipam)
    path = os.path.join(args.socket_dir, f"{name}.sock")
    server = PluginServer(path, service)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"serving pycnm driver {args.driver!r} as Docker plugin {name!r} on {path}", flush=True)
    stop.wait()
    server.shutdown()
    server.server_close()
    service.close()
    sys.exit(0)


if __name__ == "__main__":
    main()
