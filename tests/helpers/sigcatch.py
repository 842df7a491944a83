#!/usr/bin/env python3
"""sigcatch.py OUT: report every signal this process receives.

Blocks every catchable signal, creates OUT.ready, then sigwaitinfo()s forever and
appends one line per signal to OUT: "SIGNO SENDER_PID". It never exits on its own
(tests kill it with SIGKILL, which cannot be blocked).
"""
import os
import signal
import sys

out = sys.argv[1]
sigs = set(signal.valid_signals()) - {signal.SIGKILL, signal.SIGSTOP}
signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
fd = os.open(out, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
open(out + ".ready", "w").close()
while True:
    info = signal.sigwaitinfo(sigs)
    os.write(fd, b"%d %d\n" % (info.si_signo, info.si_pid))
