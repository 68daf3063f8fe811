#!/usr/bin/env python3
"""Where a server allocates: JFR allocation samples summed by class and by allocation site.

    jfr print --json --events jdk.ObjectAllocationSample REC.jfr > alloc.json
    bench/alloc-sites.py alloc.json [TOP]

REC.jfr is a recording made with -XX:StartFlightRecording=settings=profile (which samples
allocations, each weighted by the bytes it stands for). Prints the share of the sampled bytes per
class, then per site: the class and the top five frames of its stack.
"""
import collections
import json
import sys


def main():
    path = sys.argv[1]
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 25
    events = json.load(open(path))['recording']['events']
    by_class = collections.Counter()
    by_site = collections.Counter()
    total = 0
    for e in events:
        v = e['values']
        weight = v.get('weight', 0)
        total += weight
        cls = v['objectClass']['name']
        by_class[cls] += weight
        frames = (v.get('stackTrace') or {}).get('frames', [])[:5]
        site = ' < '.join(f['method']['type']['name'].split('/')[-1] + '.' + f['method']['name'] for f in frames)
        by_site[cls + ' <- ' + site] += weight
    print(f'{total / 1e6:.0f} MB sampled in {len(events)} samples')
    print('\nby class')
    for name, w in by_class.most_common(15):
        print(f'{w / total * 100:5.1f}%  {name}')
    print('\nby site (class <- allocating frames, innermost first)')
    for name, w in by_site.most_common(top):
        print(f'{w / total * 100:5.1f}%  {name}')


if __name__ == '__main__':
    main()
