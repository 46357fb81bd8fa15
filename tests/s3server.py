"""A real S3 API on 127.0.0.1 for tests: moto's standalone server (``moto_server``) in its own process, with IAM
authentication enforced, so wrong credentials are refused as a real store refuses them; and a small HTTP proxy
in front of it that answers the first N matching requests with ``503 SlowDown``, to prove that reads retry.

Nothing is mocked inside the code under test: s3fs/botocore talk HTTP to these processes through the standard
``AWS_ENDPOINT_URL`` and credentials variables.
"""

from __future__ import annotations

import http.client
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

REGION = "us-east-1"
ALLOW_ALL = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_listening(port: int, proc: subprocess.Popen | None = None, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"moto_server exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f}s")


class S3Server:
    """``moto_server -H 127.0.0.1 -p PORT``; IAM auth is enforced after the three calls that create the test user
    (``INITIAL_NO_AUTH_ACTION_COUNT``), so only ``self.key``/``self.secret`` may use it."""

    def __init__(self) -> None:
        exe = shutil.which("moto_server", path=str(Path(sys.executable).parent)) or shutil.which("moto_server")
        if exe is None:
            raise RuntimeError("moto_server not found: pip install 'moto[server]' (the test extra)")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env["INITIAL_NO_AUTH_ACTION_COUNT"] = "3"
        self.proc = subprocess.Popen([exe, "-H", "127.0.0.1", "-p", str(self.port)], env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait_listening(self.port, self.proc)
            self.key, self.secret = self._make_user()
        except BaseException:
            self.stop()
            raise

    def _make_user(self) -> tuple[str, str]:
        import boto3

        iam = boto3.client("iam", endpoint_url=self.url, region_name=REGION, aws_access_key_id="bootstrap",
                           aws_secret_access_key="bootstrap")
        iam.create_user(UserName="corpus-test")
        iam.put_user_policy(UserName="corpus-test", PolicyName="all", PolicyDocument=ALLOW_ALL)
        key = iam.create_access_key(UserName="corpus-test")["AccessKey"]
        return key["AccessKeyId"], key["SecretAccessKey"]

    def env(self, endpoint: str | None = None, **extra: str) -> dict[str, str]:
        """The standard AWS variables pointing a client at this server (or at ``endpoint``, e.g. a proxy)."""
        return {"AWS_ENDPOINT_URL": endpoint or self.url, "AWS_ACCESS_KEY_ID": self.key,
                "AWS_SECRET_ACCESS_KEY": self.secret, "AWS_DEFAULT_REGION": REGION, "AWS_EC2_METADATA_DISABLED": "true",
                **extra}

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.url, region_name=REGION, aws_access_key_id=self.key,
                            aws_secret_access_key=self.secret)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


SLOW_DOWN = "SlowDown", "Please reduce your request rate."  # throttling: botocore and s3fs retry it themselves
UNAVAILABLE = "ServiceUnavailable", "Service is unable to handle the request."  # a 5xx s3fs does not retry on its own


def error_body(code: str, message: str) -> bytes:
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>'.encode()


class FlakyProxy:
    """An HTTP proxy to ``upstream`` that answers the first ``fail`` requests for which ``match(method, path,
    headers)`` holds with a 503 (``error``: SlowDown by default), and forwards everything else unchanged (the Host
    header too, so SigV4 signatures made for the proxy's address still verify). ``failed`` counts the 503s it sent."""

    def __init__(self, upstream_port: int, fail: int, match=lambda method, path, headers: True,
                 error: tuple[str, str] = SLOW_DOWN) -> None:
        reply = error_body(*error)
        self.fail, self.failed, self.forwarded = fail, 0, 0
        self.lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def _handle(self) -> None:
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                with proxy.lock:
                    refuse = proxy.failed < proxy.fail and match(self.command, self.path, self.headers)
                    proxy.failed += refuse
                    proxy.forwarded += not refuse
                if refuse:
                    self.send_response(503)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(reply)))
                    self.end_headers()
                    self.wfile.write(reply)
                    return
                conn = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=60)
                try:
                    conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                    for k, v in self.headers.items():
                        conn.putheader(k, v)
                    conn.endheaders(body or None)
                    resp = conn.getresponse()
                    data = resp.read()
                finally:
                    conn.close()
                self.send_response(resp.status, resp.reason)
                for k, v in resp.getheaders():
                    if k.lower() not in ("content-length", "transfer-encoding", "connection", "date", "server"):
                        self.send_header(k, v)
                # a HEAD's Content-Length is the object's size, not the length of this (empty) body
                self.send_header("Content-Length", resp.getheader("Content-Length", "0") if self.command == "HEAD"
                                 else str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _handle

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def ranged_get(method: str, path: str, headers) -> bool:
    """Requests that read object data (what a reader sends mid-run), not listings or HEADs."""
    return method == "GET" and "Range" in headers
