#!/usr/bin/env python3
"""ptyclient.py -- COMMAND... -- KEYS... - drives a program on a pty.

Runs COMMAND on a new pseudo-terminal (so nestemu's -monitor stdio uses
readline), then for each KEYS item: waits for the "(nestemu) " prompt
that follows everything already received, and types the item (Python
escapes: \\t is Tab, \\r Enter, \\x1b[A the up arrow). Special items:
  @wait TEXT   waits until TEXT has arrived (after the last typed item)
  @sleep S     waits S seconds (lets readline redisplay after a Tab)
At the end waits for the program to exit and prints the transcript with
terminal escape sequences and carriage returns removed, then a line
"exit status N". Used by tests/monitor/run.sh.
"""
import os
import pty
import re
import select
import sys
import time

PROMPT = b"(nestemu) "
TIMEOUT = 15


def main():
    args = sys.argv[1:]
    if "--" not in args[1:]:
        sys.exit("usage: ptyclient.py -- COMMAND... -- KEYS...")
    sep = args.index("--", 1)
    cmd, keys = args[1:sep], args[sep + 1:]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(cmd[0], cmd)
    buf = b""
    mark = 0		# where the next wait starts looking

    def read_some(deadline):
        nonlocal buf
        left = deadline - time.time()
        if left <= 0:
            raise TimeoutError
        r, _, _ = select.select([fd], [], [], left)
        if not r:
            raise TimeoutError
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            chunk = b""
        if not chunk:
            raise EOFError
        buf += chunk

    def wait_for(text):
        nonlocal mark
        deadline = time.time() + TIMEOUT
        while text not in buf[mark:]:
            read_some(deadline)
        mark = buf.index(text, mark) + len(text)

    status = None
    try:
        for k in keys:
            if k.startswith("@wait "):
                wait_for(k[6:].encode())
            elif k.startswith("@sleep "):
                time.sleep(float(k[7:]))
            else:
                wait_for(PROMPT)
                os.write(fd, k.encode().decode("unicode_escape").encode("latin-1"))
        deadline = time.time() + TIMEOUT
        while True:
            read_some(deadline)
    except EOFError:
        pass
    except TimeoutError:
        buf += b"\n[ptyclient: timed out]\n"
        os.kill(pid, 9)
    _, st = os.waitpid(pid, 0)
    status = os.WEXITSTATUS(st) if os.WIFEXITED(st) else 128 + os.WTERMSIG(st)
    text = buf.decode(errors="replace")
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[=>]|\x07", "", text).replace("\r", "")
    sys.stdout.write(text)
    sys.stdout.write("\nexit status %d\n" % status)


if __name__ == "__main__":
    main()
