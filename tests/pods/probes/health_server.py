#!/usr/bin/env python3
"""health_server.py PORT STATUS_FILE [SERVICE]: a real gRPC health server
(grpcio + grpcio-health-checking, the reference grpc.health.v1 servicer) on
127.0.0.1:PORT for the grpc probe tests (tests/integration/test_sidecars_probes.sh).

The status of "" (the server) and of SERVICE follows STATUS_FILE: SERVING when
it holds "SERVING", NOT_SERVING otherwise (or when it is missing). Other
services are unknown (NOT_FOUND). SIGTERM and SIGINT exit 0.
"""
import os
import signal
import sys
import time
from concurrent import futures

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc


def main():
    port, status_file = sys.argv[1], sys.argv[2]
    services = [""] + sys.argv[3:4]
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: os._exit(0))
    servicer = health.HealthServicer()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    server.add_insecure_port("127.0.0.1:%s" % port)
    server.start()
    last = None
    while True:
        try:
            with open(status_file) as f:
                want = f.read().strip()
        except OSError:
            want = ""
        if want != last:
            st = health_pb2.HealthCheckResponse.SERVING if want == "SERVING" else health_pb2.HealthCheckResponse.NOT_SERVING
            for s in services:
                servicer.set(s, st)
            last = want
        time.sleep(0.05)


if __name__ == "__main__":
    main()
