# Tries to reach the network, loopback included (PORT is replaced by the test with a listening port).
import socket

for host in ("127.0.0.1", "8.8.8.8"):
    try:
        socket.create_connection((host, PORT), timeout=2).close()
        print("CONNECTED", host)
    except OSError as exc:
        print("blocked", host, type(exc).__name__)
