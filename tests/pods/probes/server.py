#!/usr/bin/env python3
"""server.py MODE ADDR [OPTION VALUE]...: a tiny controllable server for the
probe, sidecar and waiter tests (tests/integration/test_sidecars_probes.sh).

  tcp  PORT   accept connections on 127.0.0.1:PORT and close them at once
  http PORT   answer each request on 127.0.0.1:PORT with the status code held
              in the --code FILE ("200", "302", "503", ...; 503 while FILE is
              missing or holds no number), then close
  unix PATH   accept connections on the Unix stream socket PATH, close them
  dns  IP     a DNS server that never answers: read UDP datagrams on IP:53, log
              "query" for each (--log), reply nothing

  --delay S    sleep S seconds before listening
  --stamp FILE once listening, write time.time_ns() to FILE (atomically)
  --flag FILE  listen only while FILE exists: the listening socket is closed
               (connections refused) when FILE goes, opened again when it comes
  --code FILE  (http) where the status code comes from
  --log FILE   append one line per request: the http request line, or "conn"
  --headers FILE  (http) append each request's header lines, then an empty line

SIGTERM and SIGINT exit 0. One connection at a time, which is all a probe needs.
"""
import os
import select
import signal
import socket
import sys
import time


def write_atomic(path, text):
    tmp = "%s.tmp%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


def listen(mode, addr):
    if mode == "unix":
        try:
            os.unlink(addr)
        except FileNotFoundError:
            pass
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(addr)
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", int(addr)))
    s.listen(16)
    return s


def status_code(path):
    try:
        with open(path) as f:
            code = int(f.read().strip())
        return code if 100 <= code <= 599 else 503
    except (OSError, ValueError):
        return 503


def serve_http(conn, opts):
    conn.settimeout(2)
    data = b""
    try:
        while b"\r\n\r\n" not in data and len(data) < 8192:
            chunk = conn.recv(4096)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    code = status_code(opts["--code"]) if "--code" in opts else 200
    log(opts, data.split(b"\r\n", 1)[0].decode("latin-1"))
    if "--headers" in opts:
        with open(opts["--headers"], "a") as f:
            f.write(data.split(b"\r\n\r\n", 1)[0].decode("latin-1") + "\n\n")
    body = b"status %d\n" % code
    try:
        conn.sendall(b"HTTP/1.1 %d X\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (code, len(body), body))
    except OSError:
        pass


def log(opts, line):
    if "--log" in opts:
        with open(opts["--log"], "a") as f:
            f.write(line + "\n")


def main():
    mode, addr = sys.argv[1], sys.argv[2]
    rest = sys.argv[3:]
    opts = dict(zip(rest[0::2], rest[1::2]))
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: sys.exit(0))
    time.sleep(float(opts.get("--delay", "0")))
    if mode == "dns":
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind((addr, 53))
        if "--stamp" in opts:
            write_atomic(opts["--stamp"], "%d\n" % time.time_ns())
        while True:
            u.recvfrom(4096)
            log(opts, "query")
    flag = opts.get("--flag")
    lsock = None
    stamped = False
    while True:
        want = flag is None or os.path.exists(flag)
        if want and lsock is None:
            lsock = listen(mode, addr)
            if not stamped and "--stamp" in opts:
                write_atomic(opts["--stamp"], "%d\n" % time.time_ns())
                stamped = True
        elif not want and lsock is not None:
            lsock.close()
            lsock = None
            if mode == "unix":
                os.unlink(addr)
        if lsock is None:
            time.sleep(0.02)
            continue
        ready, _, _ = select.select([lsock], [], [], 0.02)
        if not ready:
            continue
        conn, _ = lsock.accept()
        with conn:
            if mode == "http":
                serve_http(conn, opts)
            else:
                log(opts, "conn")


if __name__ == "__main__":
    main()
