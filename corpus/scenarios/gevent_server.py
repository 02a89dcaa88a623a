# -*- coding: utf-8 -*-
"""A gevent server with a thousand greenlets parked on its sockets: a
StreamServer on localhost and 500 clients connected to it, in the same
process (nothing monkey-patched). Each of the 500 connection handlers waits
in sock.recv() for a request that never comes, each client in recv() for a
reply; the accept loop waits for the next connection. The text output must
show where all of them are on one screen (tests/corpus/run.py checks it).

usage: gevent_server.py TRUTH.json
"""
from __future__ import print_function

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import truth  # noqa: E402
import _truth_greenlet as tg  # noqa: E402  (skips without greenlet)

gevent = tg.import_gevent()   # skips without gevent
import gevent.server  # noqa: E402
import gevent.socket  # noqa: E402

CONNECTIONS = 500
keep = []           # every greenlet and socket made


def handle(sock, address):
    keep.append(sock)
    read_request(sock)


def read_request(sock):
    sock.recv(1)  # every handler parks here


def client(address):
    # connect() to a numeric address: create_connection() would resolve
    # it in gevent's resolver threads, greenlets of threads of their own.
    conn = gevent.socket.socket()
    conn.connect(address)
    keep.append(conn)
    conn.recv(1)  # every client parks here


def setup():
    try:
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = 4 * CONNECTIONS + 64
        if soft < want and (hard == resource.RLIM_INFINITY or hard >= want):
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    except (ImportError, ValueError, OSError):
        pass
    server = gevent.server.StreamServer(('127.0.0.1', 0), handle, backlog=4 * CONNECTIONS)
    server.start()
    keep.append(server)
    clients = [gevent.spawn(client, server.address) for _ in range(CONNECTIONS)]
    keep.extend(clients)
    # Every client connected and every handler started before parking.
    while len(keep) < 1 + 2 * CONNECTIONS + CONNECTIONS:
        gevent.sleep(0.01)
    return clients


def block_main(clients):
    while True:
        gevent.joinall(clients)  # the main greenlet parks here


if __name__ == '__main__':
    running = setup()
    tg.park_in_gevent(truth.out_path_from_argv(), 1, block_main, (running,))
