#!/usr/bin/env python3
"""term_race.py N CMD [ARG...]: start CMD N times and SIGTERM it right away.

posix_spawn returns once the new process has exec'd CMD, so the SIGTERM lands
while CMD is still starting up; every 2nd try waits 0.5-3 ms first, to hit the
moment between "signals blocked" and "child forked" too. Each try must end
within 5 s (else it is SIGKILLed with its children and counted as hung).
Prints "hung=H codes=C1,C2,..." with each try's exit code (128+N for signal N).
"""
import os
import signal
import sys
import time

n = int(sys.argv[1])
cmd = sys.argv[2:]
delays = [0, 0.0005, 0, 0.001, 0, 0.002, 0, 0.003]
hung = 0
codes = []
for i in range(n):
    pid = os.posix_spawnp(cmd[0], cmd, os.environ)
    if delays[i % len(delays)]:
        time.sleep(delays[i % len(delays)])
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 5
    while True:
        r, st = os.waitpid(pid, os.WNOHANG)
        if r:
            break
        if time.monotonic() > deadline:
            hung += 1
            try:
                kids = open(f"/proc/{pid}/task/{pid}/children").read().split()
            except OSError:
                kids = []
            for k in kids + [str(pid)]:
                try:
                    os.kill(int(k), signal.SIGKILL)
                except OSError:
                    pass
            r, st = os.waitpid(pid, 0)
            break
        time.sleep(0.002)
    code = os.waitstatus_to_exitcode(st)
    codes.append(128 - code if code < 0 else code)
    if hung >= 3:
        break
print(f"hung={hung} codes={','.join(map(str, codes))}")
