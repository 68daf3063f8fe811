#!/usr/bin/env python3
"""Where a benchmark's server threads spent their time: on a CPU, or runnable but waiting for one.

    bench/thread-cpu.py SCENARIO [THREAD]

Runs `bench/run.sh SCENARIO` (its settings come from the environment, as for run.sh), reads
/proc/PID/task/*/schedstat of the server once a second (no forks, so it adds next to no load),
and prints, per thread name (numbers stripped, so event loops add up), the seconds on a CPU and
the seconds runnable but waiting for one, over the server's life. With THREAD (a name prefix,
e.g. syncline-commit) it also prints that thread's share of each second: on a CPU, waiting.

A thread that waits for a CPU as long as it runs is short of cores, not slow: on a 2-core
machine the server's threads, the JIT, the GC and the load generator share them.
"""
import collections
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def server_pid():
    for p in os.listdir('/proc'):
        if p.isdigit():
            try:
                with open(f'/proc/{p}/cmdline', 'rb') as f:
                    if b'syncline-server.jar' in f.read():
                        return p
            except OSError:
                pass
    return None


def read(path):
    with open(path) as f:
        return f.read()


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    scenario, watch = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else None)
    log = os.environ.get('LOG', '/tmp/thread-cpu-run.log')
    run = subprocess.Popen([os.path.join(HERE, 'run.sh'), scenario], stdout=open(log, 'w'), stderr=subprocess.STDOUT)
    pid = None
    while pid is None and run.poll() is None:
        pid = server_pid()
        time.sleep(0.1)
    threads = {}  # tid -> (name, on-cpu ns, waiting ns)
    timeline = []
    while run.poll() is None:
        now = time.time()
        try:
            for tid in os.listdir(f'/proc/{pid}/task'):
                try:
                    name = read(f'/proc/{pid}/task/{tid}/comm').strip()
                    cpu, wait = read(f'/proc/{pid}/task/{tid}/schedstat').split()[:2]
                    threads[tid] = (name, int(cpu), int(wait))
                    if watch and name.startswith(watch):
                        timeline.append((now, int(cpu), int(wait)))
                except OSError:
                    pass
        except OSError:
            pass  # the server is gone; the run is ending
        time.sleep(1)
    lines = read(log).strip().splitlines()
    print(lines[-2] if len(lines) > 1 else '\n'.join(lines))
    totals = collections.defaultdict(lambda: [0, 0])
    for name, cpu, wait in threads.values():
        key = re.sub(r'[-#0-9]+$', '', name).strip()
        totals[key][0] += cpu
        totals[key][1] += wait
    print(f'{"thread":28s} {"on a CPU":>10s} {"waiting":>10s}')
    for key, (cpu, wait) in sorted(totals.items(), key=lambda kv: -kv[1][0])[:14]:
        print(f'{key:28s} {cpu / 1e9:9.2f}s {wait / 1e9:9.2f}s')
    if timeline:
        print(f'\n{watch}, each second: share on a CPU, share waiting for one')
        for (t0, c0, w0), (t1, c1, w1) in zip(timeline, timeline[1:]):
            dt = t1 - t0
            print(f'  {t1 - timeline[0][0]:5.1f}s  {(c1 - c0) / 1e9 / dt:4.2f}  {(w1 - w0) / 1e9 / dt:4.2f}')
    return run.returncode


if __name__ == '__main__':
    sys.exit(main())
