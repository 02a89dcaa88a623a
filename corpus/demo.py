# -*- coding: utf-8 -*-
"""A small service that hangs, for trying pycore-stacks by hand.

    python3 corpus/demo.py &           # prints its pid
    pycore-stacks --pid PID
    gcore -o /tmp/core PID && pycore-stacks /tmp/core.PID

A pool of workers waits on a job queue, a cache refresher sleeps between
rounds, a report writer is stuck behind a lock that a "slow request" holds
while it waits for a reply that never comes, and the main thread waits for
the workers to finish.  Every thread stays where it is until the process is
killed.  With a path as first argument, the demo also records its own stacks
there (see truth.py), so the corpus harness can run it too
(tests/corpus/run.py --scenario demo).

Runs on Python 2.7 and 3.6+.
"""
from __future__ import print_function

import functools
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import truth  # noqa: E402

try:
    import queue
except ImportError:  # Python 2
    import Queue as queue


class JobQueue(object):

    def __init__(self):
        self._jobs = queue.Queue()

    def next_job(self):
        truth.ready()
        return self._jobs.get()


class Worker(object):

    def __init__(self, jobs):
        self.jobs = jobs

    def serve_forever(self):
        while True:
            job = self.jobs.next_job()
            self.handle(job)

    def handle(self, job):
        job()


class CacheRefresher(object):

    interval = 3600.0

    def run(self):
        while True:
            self.refresh()
            self.wait_for_next_round()

    def refresh(self):
        pass

    def wait_for_next_round(self):
        truth.ready()
        time.sleep(self.interval)


db_lock = threading.Lock()
reply = threading.Event()          # the reply that never comes


def slow_request():
    with db_lock:
        wait_for_reply(timeout=None)


def wait_for_reply(timeout):
    truth.ready()
    reply.wait(timeout)


def write_report():
    rows = fetch_rows()
    return len(rows)


def fetch_rows():
    truth.ready()
    with db_lock:
        return []


# --- asyncio ----------------------------------------------------------------
# An event loop thread whose request handlers wait on a connection pool
# (_demo_asyncio.py; Python 3.6+).

# --- greenlets --------------------------------------------------------------
# Later: a gevent pool / raw greenlets go here, same rules as above.


def start_threads():
    """Start the demo's threads; return how many were started."""
    jobs = JobQueue()
    started = []
    for i in range(3):
        started.append(truth.start_thread(Worker(jobs).serve_forever,
                                          u'worker-%d' % i))
    started.append(truth.start_thread(CacheRefresher().run, u'cache-refresher'))
    started.append(truth.start_thread(slow_request, u'slow-request'))
    while not db_lock.locked():
        time.sleep(0.01)
    started.append(truth.start_thread(write_report, u'report-writer'))
    if sys.version_info >= (3, 6):
        import _demo_asyncio
        started.append(_demo_asyncio.start())
    return started


def wait_for_workers(threads):
    for thread in threads:
        thread.join()


def main():
    out = truth.out_path_from_argv()
    threads = start_threads()
    print('demo: pid %d, %d threads parked; try: pycore-stacks --pid %d'
          % (os.getpid(), len(threads) + 1, os.getpid()))
    sys.stdout.flush()
    truth.park_and_record(out, len(threads) + 1,
                          park=functools.partial(wait_for_workers, threads))


if __name__ == '__main__':
    main()
