# Setup "uwsgi": the same work as bench/apps/*.mjs as a WSGI app, selected by BENCH_WORKLOAD.
# SHA-256 goes through hashlib (OpenSSL), like Node's crypto. uWSGI's --http-socket closes the
# connection after every response, so we say "Connection: close" (otherwise wrk would try to
# reuse the socket and count a read error per request) and always send Content-Length (uWSGI adds none).
import hashlib
import os
import time

HELLO = b"Hello, World!"
CPU_CHUNK = b"a" * (64 * 1024)
CPU_ROUNDS = 34
IO_S = 0.020
WORKLOAD = os.environ.get("BENCH_WORKLOAD", "hello")


def cpu_work():
    h = hashlib.sha256()
    for _ in range(CPU_ROUNDS):
        h.update(CPU_CHUNK)
    return h.hexdigest().encode()


def _reply(start_response, body, ctype=b"text/plain"):
    start_response("200 OK", [
        ("Content-Type", ctype.decode()),
        ("Content-Length", str(len(body))),
        ("Connection", "close"),
    ])
    return [body]


def application(environ, start_response):
    if WORKLOAD == "hello":
        return _reply(start_response, HELLO)
    if WORKLOAD == "cpu2ms":
        return _reply(start_response, cpu_work())
    if WORKLOAD == "io20ms":
        time.sleep(IO_S)  # the sync worker is blocked meanwhile: that is uWSGI's model
        return _reply(start_response, HELLO)
    if WORKLOAD == "hang1pct":
        if environ.get("PATH_INFO", "").startswith("/hang"):
            while True:  # hang forever; --harakiri 1 kills the worker
                time.sleep(3600)
        return _reply(start_response, HELLO)
    if WORKLOAD == "body1mb":
        n = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(n) if n else b""
        return _reply(start_response, body, b"application/octet-stream")
    start_response("500 Internal Server Error", [("Content-Type", "text/plain"), ("Content-Length", "16")])
    return [b"unknown workload"]
