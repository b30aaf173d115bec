// Lab helper (not shipped): a share owner that makes real effects through the engine's own lock and journal,
// then waits to be killed (the runtime specs kill it with SIGKILL and check that the next start/stop undoes
// every effect). Usage: gjs -m build/journal-owner.js RUNTIME_DIR EFFECT…   where EFFECT is one of
//   address:IFACE:A.B.C.D/P   an address on an interface (run it in a network namespace)
//   mount:DIR                 a tmpfs mounted on DIR
//   export:FILE               a kernel NFS export whose undo is a stand-in for `exportfs -u` that writes FILE
//                             (kernel nfsd cannot run on the test machines)
//   daemon:NAME               a child process (sleep) recorded as a daemon
// Prints "READY <pid>" once every effect is made, "BUSY" (exit 3) when another process holds the lock.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';
import system from 'system';

import { addAddress } from '../../src/backend/network/host.ts';
import { parseCidr } from '../../src/backend/network/ipv4.ts';
import { Journal } from '../../src/backend/runtime/journal.ts';
import { OwnerLock } from '../../src/backend/runtime/lock.ts';
import { processIdentity, run } from '../../src/backend/services/supervisor.ts';

const [dir, ...effects] = system.programArgs;
const lock = OwnerLock.acquire(dir);
if (lock === null) {
    print('BUSY');
    system.exit(3);
}
const pid = Number.parseInt(GLib.file_read_link('/proc/self'), 10);
const journal = Journal.create(dir, pid);
const children: Gio.Subprocess[] = [];
for (const effect of effects) {
    const [kind, ...rest] = effect.split(':');
    const arg = rest.join(':');
    switch (kind) {
    case 'address': {
        const [iface, cidrText] = [rest[0], rest.slice(1).join(':')];
        const cidr = parseCidr(cidrText);
        if (cidr === null)
            throw new Error(`bad address ${cidrText}`);
        journal.make({ kind: 'address', interface: iface, address: cidr }, () => addAddress(iface, cidr));
        break;
    }
    case 'mount':
        journal.make({ kind: 'mount', path: arg }, () => {
            if (run(['mount', '-t', 'tmpfs', '-o', 'size=1m', 'journal-test', arg]).status !== 0)
                throw new Error(`mount ${arg} failed`);
        });
        break;
    case 'export':
        journal.make({ kind: 'export', path: '/srv/medium', unexport: ['sh', '-c', `echo unexported > '${arg}'`] }, () => {});
        break;
    case 'daemon': {
        const proc = Gio.Subprocess.new(['sleep', '600'], Gio.SubprocessFlags.NONE);
        children.push(proc);
        const id = processIdentity(Number(proc.get_identifier()));
        if (id === null)
            throw new Error('the daemon stand-in did not start');
        journal.record({ kind: 'daemon', name: arg, pid: Number(proc.get_identifier()), comm: id.comm, startTime: id.startTime });
        break;
    }
    default:
        throw new Error(`unknown effect ${effect}`);
    }
}
print(`READY ${pid}`);
new GLib.MainLoop(null, false).run();
