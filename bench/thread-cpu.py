#!/usr/bin/env python3
"""Where a benchmark's server threads spent their time: on a CPU, or runnable but waiting for one.

    bench/thread-cpu.py SCENARIO [THREAD]

Runs `bench/run.sh SCENARIO` (its settings come from the environment, as for run.sh), reads
/proc/PID/task/*/schedstat of every server once a second (no forks, so it adds next to no load),
and prints, per server and thread name (numbers stripped, so event loops add up), the seconds on
a CPU and the seconds runnable but waiting for one, over the server's life. The replication
scenarios start several servers; each is named after its data folder (a, b, c). With THREAD (a
name prefix, e.g. syncline-commit) it also prints that thread's share of each second: on a CPU,
waiting.

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


def servers():
    """pid -> name of every running server JVM: `java ... -jar .../syncline-server.jar` (not the
    generator, which names the jar as an option, nor a wrapper such as timeout)."""
    found = {}
    for p in os.listdir('/proc'):
        if p.isdigit():
            try:
                with open(f'/proc/{p}/cmdline', 'rb') as f:
                    argv = f.read().decode(errors='replace').split('\0')
            except OSError:
                continue
            if not argv[0].endswith('java') or '-jar' not in argv[:-1]:
                continue
            if not argv[argv.index('-jar') + 1].endswith('syncline-server.jar'):
                continue
            data = argv[argv.index('--data') + 1] if '--data' in argv[:-1] else ''
            # a cluster's servers keep their stores in DIR/a/store, DIR/b/store, ...
            found[p] = os.path.basename(os.path.dirname(data)) if os.path.basename(data) == 'store' else 'server'
    return found


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
    names = {}  # pid -> server name
    threads = {}  # (pid, tid) -> (name, on-cpu ns, waiting ns)
    timeline = collections.defaultdict(list)  # server name -> [(time, on-cpu ns, waiting ns)]
    while run.poll() is None:
        now = time.time()
        for pid, server in servers().items():
            if pid not in names:
                # a scenario run again (RETRIES) starts a server of the same name
                names[pid] = server if server not in names.values() else f'{server} (pid {pid})'
        for pid, server in names.items():
            watched = None
            try:
                for tid in os.listdir(f'/proc/{pid}/task'):
                    try:
                        name = read(f'/proc/{pid}/task/{tid}/comm').strip()
                        cpu, wait = read(f'/proc/{pid}/task/{tid}/schedstat').split()[:2]
                        threads[(pid, tid)] = (name, int(cpu), int(wait))
                        if watch and name.startswith(watch):
                            c, w = watched or (0, 0)
                            watched = (c + int(cpu), w + int(wait))
                    except OSError:
                        pass
            except OSError:
                continue  # that server is gone
            if watched:
                timeline[server].append((now, *watched))
        time.sleep(1)
    lines = read(log).strip().splitlines()
    print(lines[-2] if len(lines) > 1 else '\n'.join(lines))
    for pid, server in sorted(names.items(), key=lambda kv: kv[1]):
        totals = collections.defaultdict(lambda: [0, 0])
        for (p, _), (name, cpu, wait) in threads.items():
            if p == pid:
                key = re.sub(r'[-#0-9]+$', '', name).strip()
                totals[key][0] += cpu
                totals[key][1] += wait
        print(f'{server + " thread":28s} {"on a CPU":>10s} {"waiting":>10s}')
        for key, (cpu, wait) in sorted(totals.items(), key=lambda kv: -kv[1][0])[:14]:
            print(f'{key:28s} {cpu / 1e9:9.2f}s {wait / 1e9:9.2f}s')
    for server, points in sorted(timeline.items()):
        print(f'\n{server}: {watch}, each second: share on a CPU, share waiting for one')
        for (t0, c0, w0), (t1, c1, w1) in zip(points, points[1:]):
            dt = t1 - t0
            print(f'  {t1 - points[0][0]:5.1f}s  {(c1 - c0) / 1e9 / dt:4.2f}  {(w1 - w0) / 1e9 / dt:4.2f}')
    return run.returncode


if __name__ == '__main__':
    sys.exit(main())
