#!/usr/bin/env python3
"""Sharing benchmark (`npm run bench:share [-- --json] [-- --rounds N] [-- --only latency,storm,nfs]`), as root.

Everything runs in network namespaces of its own (benchsrv: bridge br0 10.78.0.1/24, the sharing machine;
benchcli: 10.78.0.2 over a veth into br0) with the real engine (`share-this-cd start`); nothing listens
outside them; every process is killed by PID and the namespaces are deleted at the end, on Ctrl-C and on
SIGTERM too.

  latency  start → serving (the DHCP probe window excluded) and stop, over several runs.
  storm    What a room of thin clients waits for: 32 clients, released together by a barrier (every connection
           open first, then every request sent at once), each fetching a kernel+initrd-sized file (105 MB);
           first start → last end (the makespan). Servers side by side in one run, interleaved, the order
           rotating each round: ours (the engine's nginx), a minimal sendfile server, and raw TCP with the same
           structure (32 connections, the same header, the same bytes written from memory). Unshaped and with
           the client's link shaped to 1 Gbit/s (HTB; this kernel has no fq/fq_codel). Figures: makespan / raw's
           (= makespan ÷ (bytes ÷ raw throughput)), server CPU per GB (the server's whole process tree: for
           ours the engine and all its daemons), the longest stall of a flow (no byte acknowledged while the
           flow was open, from `ss -ti` sampled every 100 ms on the server; and the longest gap between two
           reads on the client).
  nfs      1, 8 and 32 libnfs readers (NFSv3, as live-boot's and casper's nfsmount) of a 400 MB squashfs,
           sequential and 128 KB random, 5 s each: aggregate and per reader; nfs-ganesha with the settings the
           engine writes and with ganesha's defaults (same binary, same export, same rpcbind).

Helper roles of this file (run inside a namespace by the benchmark itself): _raw, _sendfile, _client, _sample,
_nfsread.
"""
import argparse
import ctypes
import json
import os
import random
import re
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SELF = os.path.abspath(__file__)
SRV, CLI = 'benchsrv', 'benchcli'
IP, CIP = '10.78.0.1', '10.78.0.2'
RAW_PORT, SENDFILE_PORT = 5001, 8081
KERNEL, INITRD = 15_000_000, 90_000_000
SQUASHFS = 400_000_000
PAYLOAD_PATH = '/medium/casper/payload.bin'


def log(*a):
    print(*a, file=sys.stderr if ARGS_JSON else sys.stdout, flush=True)


ARGS_JSON = False


# --- helper roles -----------------------------------------------------------------------------------------

def header(length):
    return f'HTTP/1.1 200 OK\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n'.encode()


def read_request(conn):
    data = b''
    while b'\r\n\r\n' not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return None
        data += chunk
        if len(data) > 8192:
            return None
    line = data.split(b'\r\n', 1)[0].decode('latin-1').split()
    return line[1] if len(line) >= 2 else None


def serve(port, handle):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((IP, port))
    s.listen(256)
    print('listening', flush=True)
    while True:
        conn, _ = s.accept()
        threading.Thread(target=lambda c=conn: (handle(c), c.close()), daemon=True).start()


def role_raw(size):
    """Raw TCP with the HTTP structure: read a request, write a header and `size` bytes from memory."""
    block = memoryview(os.urandom(1 << 20))

    def handle(conn):
        if read_request(conn) is None:
            return
        conn.sendall(header(size))
        left = size
        while left > 0:
            n = conn.send(block[:min(left, len(block))])
            left -= n
    serve(RAW_PORT, handle)


def role_sendfile(root):
    """A minimal static server: one thread a connection, sendfile(2) of the file asked for under `root`."""
    def handle(conn):
        path = read_request(conn)
        if path is None or '..' in path:
            return
        try:
            f = open(os.path.join(root, path.lstrip('/')), 'rb')
        except OSError:
            conn.sendall(b'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n')
            return
        with f:
            conn.sendall(header(os.fstat(f.fileno()).st_size))
            conn.sendfile(f)
    serve(SENDFILE_PORT, handle)


def role_client(port, path, n):
    """n connections, all opened first (the barrier), then every request sent; absolute times per client."""
    socks = [socket.create_connection((IP, port)) for _ in range(n)]
    request = f'GET {path} HTTP/1.1\r\nHost: {IP}\r\nConnection: close\r\n\r\n'.encode()
    sel = selectors.DefaultSelector()
    flows = []
    for s in socks:
        flow = {'start': time.time(), 'end': None, 'bytes': 0, 'head': b'', 'length': None, 'last': None, 'gap': 0.0}
        s.sendall(request)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, flow)
        flows.append(flow)
    buf = bytearray(1 << 20)
    active = n
    while active:
        for key, _ in sel.select():
            s, flow = key.fileobj, key.data
            try:
                got = s.recv_into(buf)
            except BlockingIOError:
                continue
            now = time.time()
            if flow['last'] is not None:
                flow['gap'] = max(flow['gap'], now - flow['last'])
            flow['last'] = now
            if flow['length'] is None:
                flow['head'] += bytes(buf[:got])
                if b'\r\n\r\n' in flow['head']:
                    head, body = flow['head'].split(b'\r\n\r\n', 1)
                    m = re.search(rb'Content-Length: (\d+)', head)
                    flow['length'] = int(m.group(1)) if m else -1
                    flow['bytes'] = len(body)
            else:
                flow['bytes'] += got
            done = got == 0 or (flow['length'] is not None and flow['bytes'] >= flow['length'])
            if done:
                flow['end'] = now
                sel.unregister(s)
                s.close()
                active -= 1
    for f in flows:
        if f['length'] is None or f['bytes'] != f['length']:
            raise SystemExit(f'a download ended short: {f["bytes"]} of {f["length"]} bytes')
    print(json.dumps([{k: f[k] for k in ('start', 'end', 'bytes', 'gap')} for f in flows]))


def role_sample(port, out, interval):
    """`ss -ti` on the server every `interval` s until SIGTERM: per flow, the longest time no byte was acked."""
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    seen = {}   # peer -> [last bytes_acked, time it last changed, longest stall]
    samples = 0
    while not stop:
        t0 = time.time()
        out_text = subprocess.run(['ss', '-HtinO', 'state', 'established', f'( sport = :{port} )'],
                                  capture_output=True, text=True).stdout
        now = time.time()
        samples += 1
        for line in out_text.splitlines():
            fields = line.split()
            if len(fields) < 4:
                continue
            peer = fields[3]
            m = re.search(r'bytes_acked:(\d+)', line)
            acked = int(m.group(1)) if m else 0
            if acked == 0:
                continue   # the request is not answered yet (the barrier)
            flow = seen.setdefault(peer, [acked, now, 0.0])
            if acked != flow[0]:
                flow[0], flow[1] = acked, now
            else:
                flow[2] = max(flow[2], now - flow[1])
        time.sleep(max(0.0, interval - (time.time() - t0)))
    with open(out, 'w') as f:
        json.dump({'flows': len(seen), 'samples': samples, 'max_stall_s': max((v[2] for v in seen.values()), default=0.0)}, f)


class Libnfs:
    """libnfs's synchronous API through ctypes (libnfs 4: nfs_pread(nfs, fh, offset, count, buf))."""
    def __init__(self):
        lib = ctypes.CDLL('libnfs.so.13')
        lib.nfs_init_context.restype = ctypes.c_void_p
        lib.nfs_mount.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p]
        lib.nfs_open.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_void_p)]
        lib.nfs_pread.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint64, ctypes.c_void_p]
        lib.nfs_get_error.argtypes = [ctypes.c_void_p]
        lib.nfs_get_error.restype = ctypes.c_char_p
        lib.nfs_close.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
        lib.nfs_destroy_context.argtypes = [ctypes.c_void_p]
        self.lib = lib


def role_nfsread(export, path, readers, pattern, seconds, size):
    nfs = Libnfs().lib
    block = 128 * 1024
    ready = threading.Barrier(readers + 1)
    results = [None] * readers
    errors = []

    def reader(i):
        ctx = nfs.nfs_init_context()
        fh = ctypes.c_void_p()
        ok = nfs.nfs_mount(ctx, IP.encode(), export.encode()) == 0 and nfs.nfs_open(ctx, path.encode(), os.O_RDONLY, ctypes.byref(fh)) == 0
        if not ok:
            errors.append(nfs.nfs_get_error(ctx).decode())
        buf = ctypes.create_string_buffer(block)
        rng = random.Random(i)
        blocks = size // block
        offset = (i * blocks // readers) * block
        ready.wait()
        got, worst, t0 = 0, 0.0, time.time()
        deadline = t0 + seconds
        while ok and time.time() < deadline:
            if pattern == 'random':
                offset = rng.randrange(blocks) * block
            t = time.time()
            n = nfs.nfs_pread(ctx, fh, offset, block, buf)
            worst = max(worst, time.time() - t)
            if n <= 0:
                errors.append(f'read at {offset}: {nfs.nfs_get_error(ctx).decode()}')
                break
            got += n
            offset = (offset + n) % (blocks * block)
        results[i] = {'bytes': got, 'seconds': time.time() - t0, 'worst_read_s': worst}
        if ok:
            nfs.nfs_close(ctx, fh)
        nfs.nfs_destroy_context(ctx)

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(readers)]
    for t in threads:
        t.start()
    ready.wait()
    for t in threads:
        t.join()
    if errors:
        raise SystemExit('NFS reader failed: ' + errors[0])
    print(json.dumps(results))


# --- the benchmark ----------------------------------------------------------------------------------------

class Lab:
    def __init__(self):
        self.procs = []
        self.share = None
        self.mounted = None
        self.work = tempfile.mkdtemp(prefix='share-this-cd-bench.')
        os.chmod(self.work, 0o755)   # the daemons serve as nobody

    def run(self, *argv, check=True):
        r = subprocess.run(argv, capture_output=True, text=True)
        if check and r.returncode != 0:
            raise RuntimeError(f'{" ".join(argv)}: {r.stderr.strip()}')
        return r.stdout

    def spawn(self, ns, argv, ready_line=None, **kw):
        p = subprocess.Popen(['ip', 'netns', 'exec', ns, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
        self.procs.append(p)
        if ready_line:
            line = p.stdout.readline()
            if ready_line not in line:
                raise RuntimeError(f'{argv[0]} did not start: {line}{p.stderr.read() if p.poll() is not None else ""}')
        return p

    def stop(self, p, sig=signal.SIGTERM, timeout=10):
        if p.poll() is None:
            p.send_signal(sig)
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if p in self.procs:
            self.procs.remove(p)

    def namespaces(self):
        return [l.split()[0] for l in self.run('ip', 'netns', 'list').splitlines() if l.strip()]

    def teardown_net(self):
        for ns in (CLI, SRV):
            if ns not in self.namespaces():
                continue
            for sig in ('-TERM', '-KILL'):
                pids = self.run('ip', 'netns', 'pids', ns, check=False).split()
                if pids:
                    self.run('kill', sig, *pids, check=False)
                time.sleep(0.3)
            self.run('ip', 'netns', 'del', ns, check=False)

    def setup_net(self):
        self.teardown_net()
        for cmd in (['netns', 'add', SRV], ['netns', 'add', CLI], ['-n', SRV, 'link', 'set', 'lo', 'up'],
                    ['-n', CLI, 'link', 'set', 'lo', 'up'],
                    ['-n', SRV, 'link', 'add', 'br0', 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0'],
                    ['-n', SRV, 'addr', 'add', f'{IP}/24', 'dev', 'br0'], ['-n', SRV, 'link', 'set', 'br0', 'up'],
                    ['-n', SRV, 'link', 'add', 's-cli', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', CLI],
                    ['-n', SRV, 'link', 'set', 's-cli', 'master', 'br0', 'up'],
                    ['-n', CLI, 'addr', 'add', f'{CIP}/24', 'dev', 'eth0'], ['-n', CLI, 'link', 'set', 'eth0', 'up']):
            self.run('ip', *cmd)
        time.sleep(0.5)

    def shape(self, rate):
        self.run('ip', 'netns', 'exec', SRV, 'tc', 'qdisc', 'del', 'dev', 's-cli', 'root', check=False)
        if rate:
            # HTB on the bridge port towards the client: the server → client direction of a 1 Gbit/s LAN port.
            # Its leaf queue is a FIFO (pfifo): this kernel has no fq_codel.
            self.run('ip', 'netns', 'exec', SRV, 'tc', 'qdisc', 'add', 'dev', 's-cli', 'root', 'handle', '1:', 'htb', 'default', '10')
            self.run('ip', 'netns', 'exec', SRV, 'tc', 'class', 'add', 'dev', 's-cli', 'parent', '1:', 'classid', '1:10',
                     'htb', 'rate', rate, 'ceil', rate, 'burst', '256k', 'cburst', '256k')

    def make_medium(self):
        # On a file system of its own, as a live system's medium is (its CD, USB stick or ISO file mounted): a
        # folder of a larger disk would first be copied for NFS (a squashfs of it), which users of a CD never wait
        # for. A tmpfs: its pages are the page cache, as a medium's are once the first computer has read it.
        medium = os.path.join(self.work, 'medium')
        os.makedirs(medium)
        self.run('mount', '-t', 'tmpfs', '-o', 'size=1g,mode=0755', 'bench-medium', medium)
        self.mounted = medium
        shutil.copytree(os.path.join(TOP, 'test/fixtures/media/ubuntu-24.04-desktop'), medium, dirs_exist_ok=True)
        casper = os.path.join(medium, 'casper')
        kernel, initrd = os.urandom(KERNEL), os.urandom(INITRD)
        for name, data in (('vmlinuz', kernel), ('initrd', initrd), ('payload.bin', kernel + initrd)):
            with open(os.path.join(casper, name), 'wb') as f:
                f.write(data)
        with open(os.path.join(casper, 'filesystem.squashfs'), 'wb') as f:
            for _ in range(SQUASHFS // (1 << 20)):
                f.write(os.urandom(1 << 20))
            f.write(os.urandom(SQUASHFS % (1 << 20)))
        self.run('chmod', '-R', 'a+rX', medium)
        # the minimal server's tree: the same URL path as ours
        os.makedirs(os.path.join(self.work, 'plain'))
        os.symlink(medium, os.path.join(self.work, 'plain', 'medium'))
        return medium

    def start_share(self, medium):
        out = open(os.path.join(self.work, 'share.out'), 'w+')
        p = subprocess.Popen(['ip', 'netns', 'exec', SRV, 'gjs', '-m', os.path.join(TOP, 'build/share-this-cd.js'),
                              'start', '--medium', medium], stdout=out, stderr=subprocess.STDOUT, text=True)
        self.share = p
        for _ in range(1500):
            out.seek(0)
            text = out.read()
            m = re.search(r'ready in (\d+) ms \(DHCP probe (\d+) ms\)', text)
            if m:
                return int(m.group(1)) - int(m.group(2))
            if p.poll() is not None:
                raise RuntimeError('the share did not start:\n' + text)
            time.sleep(0.02)
        raise RuntimeError('the share did not become ready in 30 s')

    def stop_share(self):
        if self.share is None:
            return 0.0
        t0 = time.time()
        self.share.send_signal(signal.SIGINT)
        try:
            self.share.wait(30)
        except subprocess.TimeoutExpired:
            self.share.kill()
            self.share.wait()
        self.share = None
        if os.path.exists('/run/share-this-cd'):
            raise RuntimeError('the runtime directory was left after stop')
        return (time.time() - t0) * 1000

    def cleanup(self):
        for p in list(self.procs):
            self.stop(p, signal.SIGKILL)
        if self.share is not None:
            try:
                self.stop_share()
            except RuntimeError:
                pass
        self.teardown_net()
        if self.mounted:
            self.run('umount', '-l', self.mounted, check=False)
        shutil.rmtree(self.work, ignore_errors=True)


def cpu_seconds(root):
    """CPU time of a process tree: every live descendant's own time, plus what the root reaped (commands it ran)."""
    tick = os.sysconf('SC_CLK_TCK')
    stats = {}
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        try:
            with open(f'/proc/{pid}/stat') as f:
                fields = f.read().rsplit(')', 1)[1].split()
        except OSError:
            continue
        with open(f'/proc/{pid}/comm') as f:
            comm = f.read().strip()
        stats[int(pid)] = (int(fields[1]), [int(x) for x in fields[11:15]], comm)
    children = {}
    for pid, (ppid, _, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    by, todo = {}, [root]
    while todo:
        pid = todo.pop()
        if pid not in stats:
            continue
        utime, stime, cutime, cstime = stats[pid][1]
        comm = stats[pid][2]
        by[comm] = by.get(comm, 0) + (utime + stime + (cutime + cstime if pid == root else 0)) / tick
        todo.extend(children.get(pid, []))
    return by


def cpu_delta(before, after):
    return {k: round(after.get(k, 0) - before.get(k, 0), 2) for k in after if after.get(k, 0) - before.get(k, 0) > 0}


def median(xs):
    return statistics.median(xs)


def latency(lab, medium, runs):
    starts, stops = [], []
    for _ in range(runs):
        starts.append(lab.start_share(medium))
        stops.append(lab.stop_share())
    r = {'start_ms': {'median': median(starts), 'worst': max(starts), 'runs': starts, 'target': 1000},
         'stop_ms': {'median': round(median(stops)), 'worst': round(max(stops)), 'runs': [round(s) for s in stops], 'target': 500}}
    log(f'start → serving, DHCP probe window excluded ({runs} runs): median {r["start_ms"]["median"]} ms, worst {r["start_ms"]["worst"]} ms (target ≤ 1000)')
    log(f'stop (Ctrl-C → process gone, nothing left) ({runs} runs): median {r["stop_ms"]["median"]} ms, worst {r["stop_ms"]["worst"]} ms (target ≤ 500)')
    return r


def storm_once(lab, server, clients):
    port = {'ours': 80, 'sendfile': SENDFILE_PORT, 'raw': RAW_PORT}[server]
    root = {'ours': lab.share.pid, 'sendfile': lab.sendfile.pid, 'raw': lab.raw.pid}[server]
    stall_file = os.path.join(lab.work, f'stall-{server}.json')
    sampler = lab.spawn(SRV, [sys.executable, SELF, '_sample', str(port), stall_file, '0.1'])
    time.sleep(0.3)
    cpu0 = cpu_seconds(root)
    client = lab.spawn(CLI, [sys.executable, SELF, '_client', str(port), PAYLOAD_PATH, str(clients)])
    out, err = client.communicate()
    lab.procs.remove(client)
    cpu = cpu_delta(cpu0, cpu_seconds(root))
    lab.stop(sampler)
    if client.returncode != 0:
        raise RuntimeError(f'{server}: the clients failed: {err.strip()}')
    flows = json.loads(out)
    with open(stall_file) as f:
        stall = json.load(f)
    total = sum(f['bytes'] for f in flows)
    first, last = min(f['start'] for f in flows), max(f['end'] for f in flows)
    cpu_s = sum(cpu.values())
    return {'makespan_s': last - first, 'bytes': total, 'cpu_s': cpu_s, 'cpu_s_per_gb': cpu_s / (total / 1e9), 'cpu_by_process': cpu,
            'stall_s': stall['max_stall_s'], 'stall_flows': stall['flows'], 'client_gap_s': max(f['gap'] for f in flows),
            'first_end_s': min(f['end'] for f in flows) - first}


def storm(lab, medium, rounds, clients, links):
    lab.start_share(medium)
    lab.raw = lab.spawn(SRV, [sys.executable, SELF, '_raw', str(KERNEL + INITRD)], ready_line='listening')
    lab.sendfile = lab.spawn(SRV, [sys.executable, SELF, '_sendfile', os.path.join(lab.work, 'plain')], ready_line='listening')
    with open(os.path.join(medium, 'casper/payload.bin'), 'rb') as f:   # the page cache: a CD is read once per boot
        while f.read(1 << 24):
            pass
    servers = ['raw', 'sendfile', 'ours']
    result = {}
    for link, rate in (l for l in (('1gbit', '1gbit'), ('unshaped', None)) if l[0] in links):
        lab.shape(rate)
        runs = {s: [] for s in servers}
        for r in range(rounds):
            order = servers[r % 3:] + servers[:r % 3]
            for s in order:
                runs[s].append(storm_once(lab, s, clients))
                time.sleep(0.5)
        per = {}
        for s in servers:
            ratios = [ours['makespan_s'] / raw['makespan_s'] for ours, raw in zip(runs[s], runs['raw'])]
            per[s] = {
                'makespan_s': round(median([x['makespan_s'] for x in runs[s]]), 2),
                'makespan_vs_raw': round(median(ratios), 3),
                'throughput_mbit_s': round(median([x['bytes'] * 8 / x['makespan_s'] / 1e6 for x in runs[s]])),
                'cpu_s_per_gb': round(median([x['cpu_s_per_gb'] for x in runs[s]]), 3),
                'max_stall_s': round(max(x['stall_s'] for x in runs[s]), 2),
                'max_client_gap_s': round(max(x['client_gap_s'] for x in runs[s]), 2),
                'first_end_s': round(median([x['first_end_s'] for x in runs[s]]), 2),
                'runs': [{k: round(v, 3) if isinstance(v, float) else v for k, v in x.items()} for x in runs[s]],
            }
        ours, plain = per['ours'], per['sendfile']
        per['ours']['cpu_vs_sendfile'] = round(ours['cpu_s_per_gb'] / plain['cpu_s_per_gb'], 2) if plain['cpu_s_per_gb'] > 0 else None
        # nginx alone (without the engine that tracks the clients), for what the HTTP server itself costs
        nginx = median([x['cpu_by_process'].get('nginx', 0) / (x['bytes'] / 1e9) for x in runs['ours']])
        per['ours']['nginx_cpu_s_per_gb'] = round(nginx, 3)
        per['ours']['nginx_cpu_vs_sendfile'] = round(nginx / plain['cpu_s_per_gb'], 2) if plain['cpu_s_per_gb'] > 0 else None
        if link == '1gbit':
            per['ours']['targets'] = {
                'makespan_vs_raw_le_1_05': ours['makespan_vs_raw'] <= 1.05,
                'cpu_vs_sendfile_le_1_2': ours['cpu_vs_sendfile'] is not None and ours['cpu_vs_sendfile'] <= 1.2,
                'stall_le_1s': ours['max_stall_s'] <= 1.0,
            }
        result[link] = per
        for s in servers:
            x = per[s]
            log(f'{link:8} {s:8} makespan {x["makespan_s"]:6.2f} s = {x["makespan_vs_raw"]:.3f} × raw; {x["throughput_mbit_s"]} Mbit/s; '
                f'first done {x["first_end_s"]:.2f} s; CPU {x["cpu_s_per_gb"]:.3f} s/GB; longest stall {x["max_stall_s"]:.2f} s (ss), '
                f'{x["max_client_gap_s"]:.2f} s (client); CPU by process (last round) {x["runs"][-1]["cpu_by_process"]}')
        log(f'{link:8} ours: CPU {ours["cpu_vs_sendfile"]} × the minimal server\'s (nginx alone {ours["nginx_cpu_s_per_gb"]} s/GB = {ours["nginx_cpu_vs_sendfile"]} ×)')
        if 'targets' in per['ours']:
            log('targets at 1 Gbit/s (ours): ' + ', '.join(f'{k} {"met" if v else "NOT met"}' for k, v in per['ours']['targets'].items()))
    lab.shape(None)
    for p in (lab.raw, lab.sendfile):
        lab.stop(p)
    lab.stop_share()
    return {'clients': clients, 'bytes_per_client': KERNEL + INITRD, 'rounds': rounds, 'links': result}


def ganesha_config(ours_text, medium, state, defaults):
    if not defaults:
        text = re.sub(r'RecoveryRoot = "[^"]*"', f'RecoveryRoot = "{state}"', ours_text)
        return re.sub(r'(Path|Pseudo) = "[^"]*"', lambda m: f'{m.group(1)} = "{medium}"', text)
    # ganesha's defaults for everything the engine sets, but what any export needs: where, to whom, read-only.
    return f'''NFS_CORE_PARAM {{ Bind_addr = {IP}; NFS_Port = 2049; MNT_Port = 20048; Plugins_Dir = /usr/lib/x86_64-linux-gnu/ganesha; }}
NFSV4 {{ Graceless = true; RecoveryBackend = fs; RecoveryRoot = "{state}"; }}
EXPORT {{ Export_Id = 1; Path = "{medium}"; Pseudo = "{medium}"; Access_Type = RO; Squash = All; FSAL {{ Name = VFS; }} }}
'''


def nfs(lab, medium, seconds, rounds):
    # the engine's own ganesha config, as it wrote it
    lab.start_share(medium)
    with open('/run/share-this-cd/ganesha.conf') as f:
        conf = f.read()
    lab.stop_share()
    with open(os.path.join(medium, 'casper/filesystem.squashfs'), 'rb') as f:
        while f.read(1 << 24):
            pass
    rpcbind = lab.spawn(SRV, ['/usr/sbin/rpcbind', '-f', '-w'])
    time.sleep(0.5)
    results = {'ours': {}, 'defaults': {}}
    for r in range(rounds):
        for setting in (('ours', 'defaults') if r % 2 == 0 else ('defaults', 'ours')):
            state = os.path.join(lab.work, f'ganesha-{setting}')
            os.makedirs(state, exist_ok=True)
            path = os.path.join(lab.work, f'ganesha-{setting}.conf')
            with open(path, 'w') as f:
                f.write(ganesha_config(conf, medium, state, setting == 'defaults'))
            g = lab.spawn(SRV, ['/usr/bin/ganesha.nfsd', '-F', '-f', path, '-L', os.path.join(lab.work, f'ganesha-{setting}.log'),
                                '-N', 'NIV_EVENT', '-p', os.path.join(state, 'pid')])
            for _ in range(150):
                if lab.run('ip', 'netns', 'exec', SRV, 'rpcinfo', '-p', IP, check=False).count('100005') > 0:
                    break
                time.sleep(0.1)
            time.sleep(1)
            for readers in (1, 8, 32):
                for pattern in ('seq', 'random'):
                    c = lab.spawn(CLI, [sys.executable, SELF, '_nfsread', medium, '/casper/filesystem.squashfs', str(readers), pattern,
                                        str(seconds), str(SQUASHFS)])
                    out, err = c.communicate()
                    lab.procs.remove(c)
                    if c.returncode != 0:
                        raise RuntimeError(f'NFS readers ({setting}, {readers}, {pattern}): {err.strip()}')
                    per = json.loads(out)
                    rates = [x['bytes'] / x['seconds'] / 1e6 for x in per]
                    results[setting].setdefault(f'{readers}-{pattern}', []).append(
                        {'aggregate_mb_s': sum(rates), 'per_reader_min_mb_s': min(rates), 'per_reader_max_mb_s': max(rates),
                         'worst_read_s': max(x['worst_read_s'] for x in per)})
            lab.stop(g)
            time.sleep(0.5)
    lab.stop(rpcbind)
    table = {}
    for setting, cases in results.items():
        table[setting] = {}
        for case, runs in cases.items():
            table[setting][case] = {k: round(median([x[k] for x in runs]), 3 if k == 'worst_read_s' else 1) for k in runs[0]}
            table[setting][case]['runs_mb_s'] = [round(x['aggregate_mb_s'], 1) for x in runs]
    for case in table['ours']:
        o, d = table['ours'][case], table['defaults'][case]
        log(f'NFS {case:10} ours {o["aggregate_mb_s"]:7.1f} MB/s (per reader {o["per_reader_min_mb_s"]}–{o["per_reader_max_mb_s"]}, worst read {o["worst_read_s"]} s); '
            f'defaults {d["aggregate_mb_s"]:7.1f} MB/s (per reader {d["per_reader_min_mb_s"]}–{d["per_reader_max_mb_s"]}, worst read {d["worst_read_s"]} s)')
    return {'file_bytes': SQUASHFS, 'read_bytes': 128 * 1024, 'seconds': seconds, 'rounds': rounds, 'settings': table}


def main():
    global ARGS_JSON
    if len(sys.argv) > 1 and sys.argv[1].startswith('_'):
        role, args = sys.argv[1], sys.argv[2:]
        if role == '_raw':
            role_raw(int(args[0]))
        elif role == '_sendfile':
            role_sendfile(args[0])
        elif role == '_client':
            role_client(int(args[0]), args[1], int(args[2]))
        elif role == '_sample':
            role_sample(int(args[0]), args[1], float(args[2]))
        elif role == '_nfsread':
            role_nfsread(args[0], args[1], int(args[2]), args[3], float(args[4]), int(args[5]))
        return 0
    ap = argparse.ArgumentParser(description='Share This CD sharing benchmark')
    ap.add_argument('--json', action='store_true', help='print one JSON object (the text goes to stderr)')
    ap.add_argument('--rounds', type=int, default=3)
    ap.add_argument('--clients', type=int, default=32)
    ap.add_argument('--nfs-seconds', type=float, default=5.0)
    ap.add_argument('--only', default='latency,storm,nfs', help='parts to run (comma-separated)')
    ap.add_argument('--links', default='1gbit,unshaped', help='storm links: 1gbit, unshaped')
    a = ap.parse_args()
    ARGS_JSON = a.json
    if os.geteuid() != 0:
        print('bench:share needs root (network namespaces)', file=sys.stderr)
        return 2
    parts = a.only.split(',')
    lab = Lab()
    status = 0

    def interrupted(signum, _frame):
        raise KeyboardInterrupt(signum)
    signal.signal(signal.SIGTERM, interrupted)
    try:
        lab.setup_net()
        medium = lab.make_medium()
        log(f'payload: kernel+initrd = {(KERNEL + INITRD) / 1e6:.0f} MB a client, {a.clients} clients; squashfs {SQUASHFS / 1e6:.0f} MB; {os.cpu_count()} cores')
        out = {}
        if 'latency' in parts:
            out['latency'] = latency(lab, medium, 5)
        if 'storm' in parts:
            out['storm'] = storm(lab, medium, a.rounds, a.clients, a.links.split(','))
        if 'nfs' in parts:
            out['nfs'] = nfs(lab, medium, a.nfs_seconds, a.rounds)
        if a.json:
            print(json.dumps(out))
    except KeyboardInterrupt as e:
        status = 143 if e.args and e.args[0] == signal.SIGTERM else 130
        print('interrupted: cleaning up', file=sys.stderr)
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        lab.cleanup()
    return status


if __name__ == '__main__':
    sys.exit(main())
