"""The team deployment's parts that run on one machine: deploy/nginx.conf (syntax, WebSockets,
sticky sessions, fail-over) in front of two stand-in replicas, and database URLs whose password
never reaches the screen."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import ROOT, _free_port, wait_http

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


class _Replica(BaseHTTPRequestHandler):
    """Answers with its own name and the headers it received (a stand-in for one Streamlit)."""

    def do_GET(self):  # noqa: N802
        body = json.dumps({"replica": self.server.name, "headers": {k.lower(): v for k, v in self.headers.items()}})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args):
        pass


def _replica(name: str) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Replica)
    server.name = name
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _local_config(tmp: Path, ports: list[int], listen: int) -> Path:
    """deploy/nginx.conf made runnable here: its own prefix for pid and logs, the stand-ins as
    upstreams, plain HTTP on a free port instead of TLS on 443 (no certificate here)."""
    text = (ROOT / "deploy" / "nginx.conf").read_text()
    text = text.replace("/run/nginx.pid", str(tmp / "nginx.pid")).replace("/var/log/nginx", str(tmp))
    text = re.sub(r"server 127\.0\.0\.1:8501;", f"server 127.0.0.1:{ports[0]};", text)
    text = re.sub(r"server 127\.0\.0\.1:8502;", f"server 127.0.0.1:{ports[1]};", text)
    text = re.sub(r"\n    server \{\n        listen 80;.*?\n    \}\n", "\n", text, flags=re.S)  # the redirect block
    text = text.replace("listen 443 ssl;", f"listen 127.0.0.1:{listen};")
    text = re.sub(r"\n\s*ssl_certificate(_key)?\s+[^;]+;", "", text)
    text = text.replace("worker_processes auto;", "worker_processes 1;\nuser root;")
    conf = tmp / "nginx.conf"
    conf.write_text(text)
    return conf


@pytest.fixture()
def proxy(tmp_path):
    if not Path(NGINX).exists():
        pytest.fail("nginx is missing: run ./scripts/setup")
    replicas = [_replica("a"), _replica("b")]
    listen = _free_port()
    conf = _local_config(tmp_path, [r.server_address[1] for r in replicas], listen)
    check = subprocess.run([NGINX, "-t", "-p", str(tmp_path), "-c", str(conf)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    proc = subprocess.Popen([NGINX, "-p", str(tmp_path), "-c", str(conf), "-g", "daemon off;"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{listen}"
    wait_http(url, proc, timeout_s=20)
    yield url, replicas
    proc.terminate()
    proc.wait(10)
    for r in replicas:
        r.shutdown()


def _get(url: str, **headers) -> dict:
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5) as reply:
        return json.loads(reply.read())


def test_the_proxy_keeps_a_client_on_one_replica_passes_websockets_and_fails_over(proxy):
    url, replicas = proxy
    seen = {_get(url + f"/_stcore/stream?i={i}")["replica"] for i in range(12)}
    assert len(seen) == 1  # sticky: every request of this client reaches the same replica
    echo = _get(url + "/_stcore/stream", Upgrade="websocket", Connection="Upgrade")["headers"]
    assert echo["upgrade"] == "websocket" and echo["connection"] == "upgrade"
    assert echo["x-forwarded-for"] == "127.0.0.1" and echo["x-forwarded-proto"] == "http"
    first = seen.pop()
    next(r for r in replicas if r.name == first).server_close()  # that replica goes away
    assert _get(url + "/")["replica"] != first  # its clients move to the other one


def test_a_database_password_is_never_printed(postgres_server):
    secret = "hunter2-db-password"
    url = postgres_server.create_database("opplab_secret_test").replace("opplab@", f"opplab:{secret}@")
    env = {"DATABASE_URL": url, "PATH": "/usr/bin:/bin"}
    ok = subprocess.run([sys.executable, "-m", "core", "db", "upgrade"], cwd=ROOT, capture_output=True, text=True,
                        env=env, timeout=120)
    assert ok.returncode == 0 and "current: 0002" in ok.stdout, ok.stderr
    assert secret not in ok.stdout + ok.stderr and "***" in ok.stdout
    closed = url.replace(f":{postgres_server.port}/", f":{_free_port()}/")
    bad = subprocess.run([sys.executable, "-m", "core", "db", "current"], cwd=ROOT, capture_output=True, text=True,
                         env={**env, "DATABASE_URL": closed}, timeout=120)
    assert bad.returncode == 2 and bad.stderr.startswith("error: ") and secret not in bad.stdout + bad.stderr
