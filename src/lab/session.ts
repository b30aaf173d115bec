// A logind session for the lab desktop, faked (this machine has no systemd as PID 1, so no logind): what polkit
// needs to find "the session" of a process and ask that session's authentication agent for a password.
// - sd-login (libpolkit's polkit_unix_session_new_for_process, polkitd's session monitor) takes a process's
//   session from its cgroup alone: the session's processes are moved into …/user.slice/user-UID.slice/
//   session-ID.scope of the hierarchy systemd would use (cgroup2, or the hybrid layout's "unified").
// - It reads the session, seat and user from logind's state files in /run/systemd (sessions/ID, seats/seat0,
//   users/UID; system/ = "booted with systemd"): written in a folder of ours and bind-mounted over /run/systemd
//   in a private mount namespace, held by a `sleep infinity`; the session's processes and polkitd run in it
//   (nsenter). The session is local (on seat0) and active: polkit's subject.local and subject.active are true.
// - The setuid polkit-agent-helper-1 that an agent runs to check a password ignores DBUS_SYSTEM_BUS_ADDRESS and
//   answers polkitd on /run/dbus/system_bus_socket: in the namespace /run/dbus is a tmpfs whose
//   system_bus_socket is the lab's private bus. With `rootPassword`, /etc/shadow is a file of ours there, root's
//   password that one (PAM's pam_unix reads it): the machine's own /etc/shadow is neither read nor changed.
// Nothing outside the namespace changes but the cgroup folders (removed at stop(), with any process of ours
// still in them ended by its PID). Proven by hand first: /tmp/sni-lab/RECIPES.md, section 2.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';

import { readTextFile, removeTree, writeAtomic } from '../shared/fsutil.ts';
import { sleep } from '../shared/timers.ts';
import { hasExited } from '../backend/services/supervisor.ts';
import { isRunning, killPid } from './process.ts';
import { sh } from './net.ts';

export interface LogindSessionOptions {
    /** The session's id (letters and digits), e.g. "agent96": its scope is session-ID.scope. */
    id: string;
    uid: number;
    /** The user's name (users/UID's NAME=, sessions/ID's USER=). */
    user: string;
    /** The session's X display (":96"). */
    display: string;
    /** The socket of the lab's system bus: /run/dbus/system_bus_socket in the namespace. */
    systemBusSocket: string;
    /** root's password inside the namespace (a fake /etc/shadow); none (locked) when absent. */
    rootPassword?: string;
}

/** Where sd-login looks for a process's cgroup: the cgroup2 hierarchy (hybrid: "unified"), else name=systemd. */
export function systemdCgroupRoot(): string {
    const fsType = (path: string): string => sh(['stat', '-f', '-c', '%T', path]).stdout.trim();
    for (const root of ['/sys/fs/cgroup', '/sys/fs/cgroup/unified']) {
        if (fsType(root) === 'cgroup2fs')
            return root;
    }
    if (GLib.file_test('/sys/fs/cgroup/systemd/cgroup.procs', GLib.FileTest.EXISTS))
        return '/sys/fs/cgroup/systemd';
    throw new Error('no cgroup hierarchy for a logind session (neither cgroup2 nor name=systemd is mounted)');
}

/** The logind session of a process as sd-login sees it (its cgroup path's session-ID.scope), or null. */
export function sessionOfPid(pid: number): string | null {
    const cgroups = readTextFile(`/proc/${pid}/cgroup`) ?? '';
    return /\/session-([A-Za-z0-9]+)\.scope(?:\/|$)/m.exec(cgroups)?.[1] ?? null;
}

export class LogindSession {
    readonly dir: string;
    /** The session's cgroup folder. */
    readonly cgroup: string;
    private readonly sliceDirs: string[];
    private holder: Gio.Subprocess | null = null;
    /** Folders made on the host to mount over (none exist on a machine without systemd or a system bus). */
    private readonly made: string[] = [];

    constructor(private readonly options: LogindSessionOptions) {
        if (!/^[A-Za-z0-9]+$/.test(options.id))
            throw new Error(`a session id is letters and digits: ${options.id}`);
        this.dir = GLib.dir_make_tmp('share-this-cd-session.XXXXXX');
        sh(['chmod', '755', this.dir]);
        const root = systemdCgroupRoot();
        const user = `${root}/user.slice/user-${options.uid}.slice`;
        this.sliceDirs = [user, `${root}/user.slice`];
        this.cgroup = `${user}/session-${options.id}.scope`;
    }

    get id(): string {
        return this.options.id;
    }

    /** The namespace holder's PID (nsenter's target). */
    get nsPid(): number {
        const id = this.holder?.get_identifier() ?? null;
        if (id === null)
            throw new Error('the logind session is not started');
        return Number(id);
    }

    /** Writes logind's state, makes the cgroup and the mount namespace. */
    async start(): Promise<void> {
        const { id, uid, user, display } = this.options;
        const d = this.dir;
        for (const sub of ['systemd/system', 'systemd/sessions', 'systemd/seats', 'systemd/users'])
            sh(['mkdir', '-p', `${d}/${sub}`]);
        const lines = (o: Record<string, string | number>): string => Object.entries(o).map(([k, v]) => `${k}=${v}\n`).join('');
        writeAtomic(`${d}/systemd/sessions/${id}`, lines({ UID: uid, USER: user, ACTIVE: 1, IS_DISPLAY: 1, STATE: 'active', REMOTE: 0, TYPE: 'x11',
            CLASS: 'user', SCOPE: `session-${id}.scope`, SEAT: 'seat0', DISPLAY: display }));
        writeAtomic(`${d}/systemd/seats/seat0`, lines({ IS_SEAT0: 1, CAN_MULTI_SESSION: 1, CAN_GRAPHICAL: 1, ACTIVE: id, ACTIVE_UID: uid, SESSIONS: id, UIDS: uid }));
        writeAtomic(`${d}/systemd/users/${uid}`, lines({ NAME: user, STATE: 'active', SLICE: `user-${uid}.slice`, DISPLAY: id, SESSIONS: id, SEATS: 'seat0',
            ACTIVE_SESSIONS: id, ONLINE_SESSIONS: id, ACTIVE_SEATS: 'seat0', ONLINE_SEATS: 'seat0' }));
        sh(['chmod', '-R', 'a+rX', `${d}/systemd`]);
        const made = sh(['mkdir', '-p', this.cgroup]);
        if (made.status !== 0)
            throw new Error(`the session's cgroup ${this.cgroup}: ${made.stderr.trim()}`);
        const mounts = [
            `mount --bind '${d}/systemd' /run/systemd`,
            'mount -t tmpfs -o mode=755 labsession /run/dbus',
            `ln -s '${this.options.systemBusSocket}' /run/dbus/system_bus_socket`,
        ];
        if (this.options.rootPassword !== undefined) {
            const hash = sh(['openssl', 'passwd', '-6', '-stdin'], this.options.rootPassword).stdout.trim();
            if (!hash.startsWith('$6$'))
                throw new Error('openssl passwd failed');
            // Only what PAM needs to check root's password (and nobody's entry, locked).
            writeAtomic(`${d}/shadow`, `root:${hash}:19700:0:99999:7:::\n${user}:*:19700:0:99999:7:::\n`, 0o640);
            sh(['chown', 'root:shadow', `${d}/shadow`]);
            mounts.push(`mount --bind '${d}/shadow' /etc/shadow`);
        }
        for (const target of ['/run/systemd', '/run/dbus']) {
            if (!GLib.file_test(target, GLib.FileTest.IS_DIR)) {
                sh(['mkdir', '-p', target]);
                this.made.push(target);
            }
        }
        const launcher = new Gio.SubprocessLauncher({ flags: Gio.SubprocessFlags.STDERR_MERGE });
        launcher.set_stdout_file_path(`${d}/namespace.log`);
        this.holder = launcher.spawnv(['unshare', '-m', '--propagation', 'private', 'sh', '-c', `${mounts.join(' && ')} && exec sleep infinity`]);
        // Ready when the holder is `sleep`: every mount is made.
        const deadline = GLib.get_monotonic_time() + 10000 * 1000;
        for (;;) {
            if (!hasExited(this.holder) && isRunning(this.nsPid, 'sleep'))
                break;
            if (hasExited(this.holder) || GLib.get_monotonic_time() > deadline)
                throw new Error(`the session's mount namespace: ${(readTextFile(`${d}/namespace.log`) ?? '').trim() || 'not ready in 10 s'}`);
            await sleep(20);
        }
    }

    /** `argv` run inside the session's mount namespace (not in the session: polkitd). */
    inNamespace(argv: string[]): string[] {
        return ['nsenter', '-t', String(this.nsPid), '-m', ...argv];
    }

    /**
     * `argv` run as a process of the session: in its mount namespace and its cgroup. Run by root (moving into
     * the cgroup needs it): `argv` drops to the user itself (setpriv).
     */
    wrap(argv: string[]): string[] {
        return this.inNamespace(['sh', '-c', `echo $$ > '${this.cgroup}/cgroup.procs' && exec "$@"`, 'sh', ...argv]);
    }

    /** The processes in the session's cgroup. */
    pids(): number[] {
        return (readTextFile(`${this.cgroup}/cgroup.procs`) ?? '').split('\n').filter(l => l !== '').map(Number);
    }

    /** Ends what is left in the session (all started by the lab), the namespace; removes the cgroup and folders. */
    async stop(): Promise<void> {
        for (const pid of this.pids())
            await killPid(pid, null, 2000);
        if (this.holder !== null)
            await killPid(this.nsPid, 'sleep', 2000);
        this.holder = null;
        // (a slice still used by another session, of another run, stays: rmdir refuses it)
        for (const dir of [this.cgroup, ...this.sliceDirs])
            sh(['rmdir', dir]);
        for (const dir of this.made.splice(0).reverse())
            sh(['rmdir', dir]);
        removeTree(this.dir);
    }
}
