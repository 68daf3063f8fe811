#!/usr/bin/env python3
"""Where a fan-out run's tail came from: its late deliveries grouped into bursts, with wall-clock times.

    bench/run.sh "fanout --subscribers 100 --rate 500 --total 2000 --warmup 15000 --timeline /tmp/tl.csv"
    bench/late-clusters.py /tmp/tl.csv [MIN_LATE]

Reads the --timeline CSV (one row per measured delta: when it was sent, its slowest delivery, how many
subscribers got it later than the target) and prints every burst of late deltas (sent less than 20 ms
apart) with at least MIN_LATE (default 100) late deliveries: its start (UTC, to the millisecond, as in the
server's log and in -Xlog:gc:file=...:utctime), its length, its late deliveries and its slowest one.
"""
import csv
import datetime
import sys


def main():
    rows = list(csv.DictReader(open(sys.argv[1])))
    least = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    late = [r for r in rows if int(r['lateSubscribers']) > 0]
    total = sum(int(r['lateSubscribers']) for r in rows)
    print(f"{len(rows)} deltas, {len(late)} with a late delivery; {total} late deliveries in all")
    bursts = []
    previous = None
    for r in late:
        t = float(r['sentEpochMs'])
        if previous is None or t - previous > 20:
            bursts.append([t, t, 0, 0.0])
        b = bursts[-1]
        b[1] = t
        b[2] += int(r['lateSubscribers'])
        b[3] = max(b[3], float(r['slowestMs']))
        previous = t
    for start, end, count, slowest in bursts:
        if count >= least:
            at = datetime.datetime.fromtimestamp(start / 1000, datetime.timezone.utc).strftime('%H:%M:%S.%f')[:-3]
            print(f"{at}  {end - start:6.1f} ms long  {count:5d} late deliveries  slowest {slowest:.1f} ms")


if __name__ == '__main__':
    main()
