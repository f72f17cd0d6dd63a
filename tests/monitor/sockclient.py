#!/usr/bin/env python3
"""sockclient.py ADDRESS CMD... - talks to a nestemu -monitor socket.

ADDRESS is unix:PATH[,opts] or tcp:HOST:PORT. Waits for the server,
reads the banner up to the "(nestemu) " prompt, then sends each CMD and
waits for its output (up to the next prompt). Special CMDs:
  @busy   opens a second connection and records what it is told (the
          monitor serves one client at a time)
  @wait T waits until the text T has arrived (asynchronous events)
Prints the whole transcript at the end.
Used by tests/monitor/run.sh.
"""
import socket
import sys
import time

PROMPT = b"(nestemu) "


def connect(addr):
    deadline = time.time() + 10
    while True:
        try:
            if addr.startswith("unix:"):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(addr[5:].split(",")[0])
            else:
                host, port = addr[4:].rsplit(":", 1)
                s = socket.create_connection((host, int(port)))
            s.settimeout(10)
            return s
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.05)


class Session:
    """Everything received is kept; commands wait for a prompt after their
    own output, @wait for a text (asynchronous events such as "breakpoint
    1 hit", which the monitor follows with a fresh prompt)."""

    def __init__(self, sock):
        self.s = sock
        self.buf = b""
        self.waited = 0

    def recv_more(self):
        chunk = self.s.recv(65536)
        if not chunk:
            raise EOFError
        self.buf += chunk

    def until_prompt(self, mark):
        try:
            while len(self.buf) <= mark or not self.buf.endswith(PROMPT):
                self.recv_more()
        except EOFError:
            pass

    def wait_for(self, text):
        while text.encode() not in self.buf[self.waited:] or not self.buf.endswith(PROMPT):
            self.recv_more()
        self.waited = self.buf.index(text.encode(), self.waited) + len(text)


def main():
    addr = sys.argv[1]
    sess = Session(connect(addr))
    sess.until_prompt(0)
    for cmd in sys.argv[2:]:
        if cmd == "@busy":
            s2 = connect(addr)
            sess.buf += b"second client: " + s2.recv(4096)
            s2.close()
        elif cmd.startswith("@wait "):
            sess.wait_for(cmd[6:])
        else:
            mark = len(sess.buf)
            sess.s.sendall(cmd.encode() + b"\n")
            sess.until_prompt(mark)
    sys.stdout.write(sess.buf.decode(errors="replace"))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
