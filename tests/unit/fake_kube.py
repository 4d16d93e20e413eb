"""A fake Kubernetes API for the unit tier: the real client (kubeconfig loading, token, request) against a
local HTTP server that answers GETs from a table of objects."""

from __future__ import annotations

import http.server
import json
import threading
from typing import Any

import yaml


class FakeApiServer:
    """A local HTTP server answering GETs like the Kubernetes API from a table of objects' metadata, so that
    the real client (kubeconfig loading, token, request) runs; it records what it was asked."""

    def __init__(self, objects: dict[str, dict[str, Any]], status: int = 200) -> None:
        self.objects = objects
        self.requests: list[dict[str, str]] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append({"path": self.path, **{k.lower(): v for k, v in self.headers.items()}})
                found = server.objects.get(self.path)
                code = status if status != 200 else (200 if found is not None else 404)
                body = json.dumps(found if code == 200 else {"kind": "Status", "code": code}).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def kubeconfig(self) -> str:
        host, port = self.httpd.server_address[:2]
        return yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": "other",
            "clusters": [{"name": "local", "cluster": {"server": f"http://{host!s}:{port}"}},
                         {"name": "nowhere", "cluster": {"server": "http://127.0.0.1:9"}}],
            "users": [{"name": "u", "user": {"token": "t0ken"}}],
            "contexts": [{"name": "e2e", "context": {"cluster": "local", "user": "u"}},
                         {"name": "other", "context": {"cluster": "nowhere", "user": "u"}}],
        })  # fmt: skip

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
