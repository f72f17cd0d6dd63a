#!/usr/bin/env python3
"""tests/cli/serial_peer.py MODE NESTEMU GUEST [TMPDIR] - the far end of a
serial socket back end. Runs mb_serial.bin with COM2 on a socket and
-append echo: reads the guest's "hello from COM2", sends one byte, expects
"echo:<byte>" back and nestemu's exit status 1 (the guest passed).

MODE: tcp-server (nestemu listens, we connect), tcp-client (we listen,
nestemu connects), unix-server, unix-client, tcp-nowait (nestemu listens
but starts at once: the greeting may be lost, the echo must not be). Prints one line; exit 0 on
success, 1 on failure.
"""
import os
import socket
import subprocess
import sys
import time


def fail(why, proc=None):
    if proc is not None:
        proc.kill()
        out, err = proc.communicate()
        why += " | stderr: " + err.decode(errors="replace")[:300]
    print("FAIL " + why)
    sys.exit(1)


def expect(sock, want, proc):
    got = b""
    deadline = time.time() + 20
    while want not in got:
        sock.settimeout(max(0.1, deadline - time.time()))
        try:
            chunk = sock.recv(4096)
        except socket.timeout:
            fail("timed out waiting for %r, got %r" % (want, got), proc)
        if not chunk:
            fail("connection closed before %r, got %r" % (want, got), proc)
        got += chunk
    return got


def main():
    mode, nestemu, guest = sys.argv[1], sys.argv[2], sys.argv[3]
    tmp = sys.argv[4] if len(sys.argv) > 4 else "/tmp"
    family = socket.AF_UNIX if mode.startswith("unix") else socket.AF_INET
    path = os.path.join(tmp, "serial-%d.sock" % os.getpid())
    listener = None
    if family == socket.AF_INET:
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        probe.close()
        where = "tcp:127.0.0.1:%d" % port
        addr = ("127.0.0.1", port)
    else:
        where = "unix:" + path
        addr = path
    if mode.endswith("client"):
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.bind(addr)
        listener.listen(1)
    elif mode.endswith("nowait"):
        where += ",server,nowait"
    else:
        where += ",server"
    cmd = [nestemu, "-display", "none", "-no-reboot", "-max-insns", "2000000000",
           "-serial", "none", "-serial", where, "-serial", "none", "-serial", "none",
           "-kernel", guest, "-append", "echo"]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    if listener is not None:
        listener.settimeout(20)
        try:
            sock, _ = listener.accept()
        except socket.timeout:
            fail("nestemu did not connect to " + where, proc)
    else:
        sock = None
        deadline = time.time() + 20
        while sock is None:
            s = socket.socket(family, socket.SOCK_STREAM)
            try:
                s.connect(addr)
                sock = s
            except OSError:
                s.close()
                if time.time() > deadline or proc.poll() is not None:
                    fail("cannot connect to nestemu on " + where, proc)
                time.sleep(0.05)
    if not mode.endswith("nowait"):
        expect(sock, b"hello from COM2", proc)
    sock.sendall(b"Q")
    expect(sock, b"echo:Q", proc)
    try:
        status = proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        fail("nestemu did not exit after the echo", proc)
    sock.close()
    if listener is not None:
        listener.close()
    if os.path.exists(path):
        os.unlink(path)
    if status != 1:
        fail("nestemu exit status %d, expected 1" % status)
    print("PASS " + mode)


main()
