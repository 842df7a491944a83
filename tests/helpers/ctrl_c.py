#!/usr/bin/env python3
"""ctrl_c.py READY_FILE SCRIPT [ARG...]: runs `bash SCRIPT ARG...` as the
session leader of a new pseudo-terminal, waits for READY_FILE to exist, types
Ctrl-C into the terminal (the kernel sends SIGINT to the foreground process
group, as a person's keypress does), then relays the script's output and
exits with its status. Bounded: 30 s for READY_FILE, 60 s in all."""
import os
import pty
import select
import signal
import sys
import time

ready, script, args = sys.argv[1], sys.argv[2], sys.argv[3:]
pid, fd = pty.fork()
if pid == 0:
    # A shell started with SIGINT ignored (any background job of a
    # non-interactive shell is) cannot trap it: start from the default, as a
    # terminal's shell does.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.execvp("bash", ["bash", script] + args)

out = b""
def pump(timeout):
    global out
    r, _, _ = select.select([fd], [], [], timeout)
    if r:
        try:
            data = os.read(fd, 4096)
        except OSError:
            return False
        if not data:
            return False
        out += data
    return True

deadline = time.time() + 30
while not os.path.exists(ready) and time.time() < deadline:
    pump(0.05)
if not os.path.exists(ready):
    sys.stderr.write("ctrl_c.py: %s never appeared\n" % ready)
os.write(fd, b"\x03")
deadline = time.time() + 60
while time.time() < deadline and pump(0.2):
    pass
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace").replace("\r\n", "\n"))
sys.exit(os.waitstatus_to_exitcode(status))
