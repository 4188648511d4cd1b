"""The Strata process the benchmark scripts measure: started on free loopback ports, waited for, stopped."""
import signal
import socket
import subprocess
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def status_kib(pid, field):
    """A /proc/PID/status memory figure (VmRSS, VmHWM) in KiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def start(binary, root):
    """Serves `root` with the access log off and sync policy NONE; returns (process, port) once it accepts."""
    port, admin = free_port(), free_port()
    server = subprocess.Popen(
        [binary, "serve", "--root", root, "--port", str(port), "--conf", f"strata.admin.web.port={admin}",
         "--conf", "strata.proxy.access.log.enabled=false", "--conf", "strata.fs.sync.policy=NONE",
         "--conf", "strata.website.web.enabled=false"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server, port
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise RuntimeError("the server did not start")
            time.sleep(0.05)


def stop(server):
    if server is None:
        return
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(10)
    except subprocess.TimeoutExpired:
        server.kill()
