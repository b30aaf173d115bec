// A private system bus with the real polkitd, for the helper's tests and benchmark (LAB.md, desktop side):
// dbus-daemon with its own socket, service directory (activation, no setuid launch helper) and policy directory
// holding the project's own bus policy; polkitd as root in a private mount namespace where the project's
// action and rule are bind-mounted over the system's polkit directories, and where /proc/cmdline and /etc/group
// can be replaced, to be a live session (boot=casper, user "nobody" in group sudo) or an installed system.
// The helper is activated by the bus from data/io.github.ShareThisCD1.service.in, inside a network namespace.
// Nothing of the machine's own bus, polkit or files is touched; stop() ends every process by its PID.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';

import { readTextFile, removeTree, writeAtomic } from '../shared/fsutil.ts';
import { sleep } from '../shared/timers.ts';
import { isRunning, killPid } from './process.ts';
import type { LogindSession } from './session.ts';
import { BUS_NAME } from '../shared/dbus.ts';
import { type Result, sh } from './net.ts';

export interface BusLabOptions {
    /** The repository (data/ files). */
    top: string;
    /** The built helper bundle. */
    helperJs: string;
    /** Network namespace the helper runs in (null: the caller's). */
    netns: string | null;
    /** Helper idle timeout, seconds. */
    idleTimeout: number;
    /** Extra environment of the helper. */
    env?: Record<string, string>;
    /**
     * Run the helper as in a live session started from this medium folder: in a private mount namespace,
     * /proc/cmdline says boot=live and the folder is bind-mounted on /run/live/medium (live-boot's place), so
     * the helper finds "the running live medium" as on a real live system.
     */
    liveMedium?: string;
}

export type PolkitMachine = 'live' | 'installed';

const LIVE_MOUNT = '/run/live/medium';

function must(r: Result, what: string): Result {
    if (r.status !== 0)
        throw new Error(`${what} failed (${r.status}): ${r.stderr.trim() || r.stdout.trim()}`);
    return r;
}

function render(template: string, values: Record<string, string>): string {
    return template.replace(/@(\w+)@/g, (whole, key: string) => values[key] ?? whole);
}

export class BusLab {
    readonly dir: string;
    readonly address: string;
    /** The bus's socket (the path in `address`). */
    readonly socket: string;
    private busPid: number | null = null;
    private polkit: Gio.Subprocess | null = null;
    private conn: Gio.DBusConnection | null = null;
    /** /run/live/medium was made for liveMedium (removed at stop). */
    private madeLiveMount = false;

    constructor(private readonly options: BusLabOptions) {
        this.dir = GLib.dir_make_tmp('share-this-cd-bus.XXXXXX');
        sh(['chmod', '755', this.dir]);
        this.socket = `${this.dir}/system_bus_socket`;
        this.address = `unix:path=${this.socket}`;
    }

    get stateDir(): string {
        return `${this.dir}/state`;
    }

    get polkitLog(): string {
        return `${this.dir}/polkitd.log`;
    }

    get helperLog(): string {
        return `${this.dir}/helper.log`;
    }

    /** The bus daemon with our policy and the helper's activation file. */
    startBus(): void {
        const d = this.dir;
        for (const sub of ['services', 'system.d', 'state', 'polkit/actions', 'polkit/rules.d', 'polkit/empty'])
            must(sh(['mkdir', '-p', `${d}/${sub}`]), 'mkdir');
        writeAtomic(`${d}/system.conf`, busConfig(d));
        must(sh(['cp', `${this.options.top}/data/io.github.ShareThisCD1.conf`, `${d}/system.d/`]), 'copy the bus policy');
        const env = { SHARE_THIS_CD_IDLE_TIMEOUT: String(this.options.idleTimeout), SHARE_THIS_CD_STATE_DIR: this.stateDir, ...this.options.env };
        const netns = this.options.netns !== null ? `ip netns exec ${this.options.netns} ` : '';
        let helper = `gjs -m '${this.options.helperJs}'`;
        if (this.options.liveMedium !== undefined) {
            writeAtomic(`${d}/live-cmdline`, 'BOOT_IMAGE=/live/vmlinuz boot=live components quiet splash\n');
            if (!GLib.file_test(LIVE_MOUNT, GLib.FileTest.IS_DIR)) {
                must(sh(['mkdir', '-p', LIVE_MOUNT]), 'mkdir');
                this.madeLiveMount = true;
            }
            helper = `unshare -m --propagation private sh -c "mount --bind '${d}/live-cmdline' /proc/cmdline && mount --bind '${this.options.liveMedium}' ${LIVE_MOUNT} && exec ${helper}"`;
        }
        writeAtomic(`${d}/helper.sh`, `#!/bin/sh\nexec env ${Object.entries(env).map(([k, v]) => `${k}='${v}'`).join(' ')} ${netns}${helper} >> '${this.helperLog}' 2>&1\n`, 0o755);
        const service = readTextFile(`${this.options.top}/data/io.github.ShareThisCD1.service.in`) ?? '';
        writeAtomic(`${d}/services/io.github.ShareThisCD1.service`, render(service, { helper: `${d}/helper.sh` }));
        const r = must(sh(['dbus-daemon', `--config-file=${d}/system.conf`, '--fork', '--print-pid']), 'dbus-daemon');
        this.busPid = Number.parseInt(r.stdout.trim(), 10);
    }

    /** Takes the helper's activation file away (the helper is "not installed") and makes the bus reread it. */
    removeHelperService(): void {
        GLib.unlink(`${this.dir}/services/io.github.ShareThisCD1.service`);
        this.connection().call_sync('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'ReloadConfig', null, null, Gio.DBusCallFlags.NONE, 5000, null);
    }

    /**
     * polkitd with the project's action and rule, as a live session or an installed system. With a logind
     * session (src/lab/session.ts), polkitd runs in its mount namespace, where it knows the session of a caller
     * and asks that session's authentication agent for a password: the shipped rule is used as it is (its
     * subject.local and subject.active are real there), the bus lets polkitd call the agents (the system's
     * polkit bus policy), and polkitd logs (no --no-debug) so that an agent's registration can be seen.
     */
    async startPolkit(machine: PolkitMachine, session: LogindSession | null = null): Promise<void> {
        const d = this.dir;
        const top = this.options.top;
        must(sh(['cp', `${top}/data/io.github.ShareThisCD1.policy.in`, `${d}/polkit/actions/io.github.ShareThisCD1.policy`]), 'copy the polkit action');
        must(sh(['install', '-m', '755', `${top}/data/share-this-cd-live-session`, `${d}/live-session`]), 'copy the live-session check');
        const rule = readTextFile(`${top}/data/50-io.github.ShareThisCD1.rules.in`) ?? '';
        const rendered = render(rule, { livecheck: `${d}/live-session` });
        writeAtomic(`${d}/polkit/rules.d/50-io.github.ShareThisCD1.rules`, session === null ? labRule(rendered) : rendered);
        writeAtomic(`${d}/cmdline`, machine === 'live'
            ? 'BOOT_IMAGE=/casper/vmlinuz boot=casper file=/cdrom/preseed/ubuntu.seed quiet splash ---\n'
            : 'BOOT_IMAGE=/boot/vmlinuz-6.1.0-18-amd64 root=UUID=2f0e6c1a-0000-4000-8000-000000000000 ro quiet\n');
        // The live session's user is in group sudo (casper and live-config put it there): "nobody" plays it.
        const group = (readTextFile('/etc/group') ?? '').split('\n')
            .map(l => l.startsWith('sudo:') ? `${l}${l.endsWith(':') ? '' : ','}nobody` : l).join('\n');
        writeAtomic(`${d}/group`, group);
        const script = [
            `mount --bind '${d}/polkit/actions' /usr/share/polkit-1/actions`,
            `mount --bind '${d}/polkit/rules.d' /usr/share/polkit-1/rules.d`,
            `mount --bind '${d}/polkit/empty' /etc/polkit-1/rules.d`,
            `mount --bind '${d}/cmdline' /proc/cmdline`,
            `mount --bind '${d}/group' /etc/group`,
            `exec /usr/lib/polkit-1/polkitd${session === null ? ' --no-debug' : ''}`,
        ].join(' && ');
        if (session !== null) {
            must(sh(['cp', '/usr/share/dbus-1/system.d/org.freedesktop.PolicyKit1.conf', `${d}/system.d/`]), 'copy polkit\'s bus policy');
            this.connection().call_sync('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'ReloadConfig', null, null, Gio.DBusCallFlags.NONE, 5000, null);
        }
        const launcher = new Gio.SubprocessLauncher({ flags: Gio.SubprocessFlags.STDERR_MERGE });
        launcher.setenv('DBUS_SYSTEM_BUS_ADDRESS', this.address, true);
        launcher.set_stdout_file_path(this.polkitLog);
        const argv = ['unshare', '-m', '--propagation', 'private', 'sh', '-c', script];
        this.polkit = launcher.spawnv(session === null ? argv : session.inNamespace(argv));
        await this.waitForName('org.freedesktop.PolicyKit1', true, 10000);
    }

    async stopPolkit(): Promise<void> {
        if (this.polkit !== null) {
            await killPid(Number(this.polkit.get_identifier()), null, 2000);
            this.polkit = null;
        }
    }

    /** A connection of the test process (root) to the private bus. */
    connection(): Gio.DBusConnection {
        if (this.conn === null) {
            this.conn = Gio.DBusConnection.new_for_address_sync(this.address,
                Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, null, null);
        }
        return this.conn;
    }

    /** A call to the bus daemon itself; null when it fails (e.g. the name has no owner). */
    private askBus<T>(method: string, name: string, replyType: string): T | null {
        try {
            const r = this.connection().call_sync('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', method,
                new GLib.Variant('(s)', [name]), new GLib.VariantType(replyType), Gio.DBusCallFlags.NONE, 2000, null);
            return (r.deepUnpack() as [T])[0];
        } catch {
            return null;
        }
    }

    nameOwner(name = BUS_NAME): string | null {
        return this.askBus<string>('GetNameOwner', name, '(s)');
    }

    /** The helper's PID, or null when it does not run. */
    helperPid(): number | null {
        return this.askBus<number>('GetConnectionUnixProcessID', BUS_NAME, '(u)');
    }

    async waitForName(name: string, present: boolean, timeoutMs: number): Promise<void> {
        const deadline = GLib.get_monotonic_time() + timeoutMs * 1000;
        while ((this.nameOwner(name) !== null) !== present) {
            if (GLib.get_monotonic_time() > deadline)
                throw new Error(`${name} ${present ? 'never appeared' : 'never left'} on the private bus (helper log: ${this.logTail()})`);
            await sleep(50);
        }
    }

    logTail(lines = 15): string {
        return (readTextFile(this.helperLog) ?? '').trim().split('\n').slice(-lines).join(' | ');
    }

    /** `gdbus` against the private bus as another user (uid; "nobody" = 65534), or as root. */
    gdbus(uid: number | null, args: string[]): Result {
        const user = uid === null ? [] : ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups'];
        return sh(['env', `DBUS_SYSTEM_BUS_ADDRESS=${this.address}`, ...user, 'gdbus', ...args]);
    }

    /** Ends the helper (if it runs), polkitd and the bus, by PID; removes the folder. */
    async stop(): Promise<void> {
        const helper = this.helperPid();
        if (helper !== null)
            await killPid(helper, null, 15000);
        await this.stopPolkit();
        this.conn?.close_sync(null);
        this.conn = null;
        if (this.busPid !== null && isRunning(this.busPid))
            await killPid(this.busPid, 'dbus-daemon', 2000);
        this.busPid = null;
        removeTree(this.dir);
        if (this.madeLiveMount)
            sh(['rmdir', LIVE_MOUNT, '/run/live']);
    }
}

/** The private bus's configuration: the system bus's default policy, our socket, service and policy folders. */
/** The shipped rule's condition on the caller's session. */
export const SESSION_CONDITION = '!(subject.local && subject.active)';

/**
 * The rule as this lab's polkitd can use it. There is no logind here (it needs systemd as PID 1), so polkitd
 * knows no session and no caller is local or active: the session condition, and nothing else, is replaced
 * (it is tested with a real logind in the package's specs, test/system/package.spec.ts, and as JavaScript in
 * the unit specs). Throws when the shipped rule no longer has the condition word for word.
 */
export function labRule(rule: string): string {
    if (rule.split(SESSION_CONDITION).length !== 2)
        throw new Error(`the polkit rule no longer has "${SESSION_CONDITION}" once`);
    return rule.replace(SESSION_CONDITION, 'false /* the lab has no logind: src/lab/bus.ts */');
}

export function busConfig(dir: string): string {
    return `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=${dir}/system_bus_socket</listen>
  <auth>EXTERNAL</auth>
  <servicedir>${dir}/services</servicedir>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Peer"/>
    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus" send_member="UpdateActivationEnvironment"/>
  </policy>
  <!-- polkitd's own policy (the system's is in /usr/share/dbus-1/system.d, which this bus does not read) -->
  <policy user="polkitd">
    <allow own="org.freedesktop.PolicyKit1"/>
  </policy>
  <policy context="default">
    <allow send_destination="org.freedesktop.PolicyKit1"/>
  </policy>
  <includedir>${dir}/system.d</includedir>
</busconfig>
`;
}
