"""The phases of each C-STORE in a `perf script -F comm,tid,cpu,time,event,trace` dump of Arca's threads
(scripts/trace-ingest): instances are cut at the answers (writes on the association's socket), and for each the
client's turn (answer to the next slice's first bytes), the transfer (first to last bytes read), the tail (last
byte to answer), the flush and what follows it, and the journal records (writes of 64 KiB or more) started
before and after the last byte. Prints medians and means, in milliseconds (records: counts)."""
import re
import statistics
import sys

LINE = re.compile(r'\s*(.+?)\s+(\d+)\s+\[(\d+)\]\s+([\d.]+):\s+syscalls:(\w+):\s*(.*)')


def events(lines):
    for line in lines:
        m = LINE.match(line)
        if m:
            _, tid, _, t, name, rest = m.groups()
            yield int(tid), float(t) * 1000, name, rest


def field(rest, name):
    m = re.search(name + r': (0x[0-9a-f]+)', rest)
    return int(m.group(1), 16) if m else None


ev = list(events(sys.stdin))
# The association's socket: the descriptor of the 256 KiB reads.
sock = next((field(r, 'fd') for _, _, n, r in ev if n == 'sys_enter_read' and field(r, 'count') == 0x40000), None)
if sock is None:
    sys.exit('no 256 KiB read of a socket in the trace')
answers = [i for i, (_, _, n, r) in enumerate(ev) if n in ('sys_enter_write', 'sys_enter_writev') and field(r, 'fd') == sock]
phases = {k: [] for k in ('cycle', 'turn', 'transfer', 'tail', 'flush', 'flush to answer', 'last byte to record',
                          'records during', 'records after')}
for a, b in zip(answers, answers[1:]):
    span = ev[a + 1:b]
    reads, pending = [], None
    for tid, t, n, r in span:
        if n == 'sys_enter_read' and field(r, 'fd') == sock:
            pending = tid
        elif n == 'sys_exit_read' and pending == tid:
            if int(r.split()[-1], 16) > 0:
                reads.append(t)
            pending = None
    if not reads:
        continue
    ta, tb = ev[a][1], ev[b][1]
    phases['cycle'].append(tb - ta)
    phases['turn'].append(reads[0] - ta)
    phases['transfer'].append(reads[-1] - reads[0])
    phases['tail'].append(tb - reads[-1])
    enter = [t for _, t, n, _ in span if n == 'sys_enter_fdatasync']
    leave = [t for _, t, n, _ in span if n == 'sys_exit_fdatasync']
    if enter and leave:
        phases['flush'].append(leave[-1] - enter[-1])
        phases['flush to answer'].append(tb - leave[-1])
    records = [t for _, t, n, r in span if n == 'sys_enter_pwrite64' and (field(r, 'count') or 0) >= 0x10000]
    after = [t for t in records if t >= reads[-1]]
    if after:
        phases['last byte to record'].append(after[0] - reads[-1])
    phases['records during'].append(len(records) - len(after))
    phases['records after'].append(len(after))
print(f"instances {len(phases['cycle'])}")
for name, values in phases.items():
    if values:
        print(f"{name:20s} median {statistics.median(values):7.3f}  mean {statistics.mean(values):7.3f}")
