// The firewall tools of the lab's sharing computer: firewalld and ufw, each run in the server's network
// namespace with private copies of its configuration (a mount namespace of its own), so that neither the
// machine's firewall nor its files are touched. firewalld answers on a private system bus (dbus-daemon).
import GLib from 'gi://GLib';

import { LabProcess } from '../../src/lab/share.ts';
import { LazyTmpDir } from './helpers.ts';
import { SRV, sh, sleep } from './lab.ts';

/** A private system bus where root may own firewalld's names. */
function busConfig(socket: string): string {
    return `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=${socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <deny own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow receive_sender="*"/>
  </policy>
  <policy user="root">
    <allow own="org.fedoraproject.FirewallD1"/>
    <allow own="org.fedoraproject.FirewallD1.config"/>
  </policy>
</busconfig>
`;
}

export class FirewalldLab {
    private readonly tmp = new LazyTmpDir('share-this-cd-firewalld-XXXXXX');
    get dir(): string { return this.tmp.path; }
    get address(): string { return `unix:path=${this.dir}/bus`; }
    private bus: LabProcess | null = null;
    private daemon: LabProcess | null = null;
    private madeRunDir = false;

    /** The bus, then firewalld in the server namespace; resolves once firewalld says it is running. */
    async start(): Promise<void> {
        GLib.file_set_contents(`${this.dir}/bus.conf`, busConfig(`${this.dir}/bus`));
        this.bus = new LabProcess(['dbus-daemon', `--config-file=${this.dir}/bus.conf`, '--nofork', '--nopidfile']);
        for (let i = 0; i < 100 && !GLib.file_test(`${this.dir}/bus`, GLib.FileTest.EXISTS); i++)
            await sleep(50);
        sh(['cp', '-a', '/etc/firewalld', `${this.dir}/etc`]);
        this.madeRunDir = !GLib.file_test('/run/firewalld', GLib.FileTest.EXISTS);
        const script = [
            `mount -t tmpfs lab-firewalld /etc/firewalld && cp -a ${this.dir}/etc/. /etc/firewalld/`,
            'mkdir -p /run/firewalld && mount -t tmpfs lab-firewalld-run /run/firewalld',
            'exec firewalld --nofork --nopid --log-target console',
        ].join(' && ');
        this.daemon = new LabProcess(['ip', 'netns', 'exec', SRV, 'unshare', '-m', '--propagation', 'private', 'sh', '-c', script],
            { DBUS_SYSTEM_BUS_ADDRESS: this.address });
        for (let i = 0; i < 300; i++) {
            if (this.cmd(['--state']).stdout.trim() === 'running')
                return;
            await sleep(100);
        }
        throw new Error(`firewalld did not start:\n${this.daemon.output}`);
    }

    /** firewall-cmd against the lab's firewalld. */
    cmd(args: string[]): ReturnType<typeof sh> {
        return sh(['env', `DBUS_SYSTEM_BUS_ADDRESS=${this.address}`, 'firewall-cmd', ...args]);
    }

    async stop(): Promise<void> {
        for (const p of [this.daemon, this.bus]) {
            if (p?.running) {
                p.signal(15);
                await p.ended(20000);
            }
        }
        if (this.madeRunDir)
            sh(['rmdir', '/run/firewalld']);
        this.tmp.remove();
    }
}

export class UfwLab {
    private readonly tmp = new LazyTmpDir('share-this-cd-ufw-XXXXXX');

    /** The lab's copies of ufw's files, made on first use. */
    get dir(): string {
        if (!GLib.file_test(`${this.tmp.path}/etc`, GLib.FileTest.EXISTS)) {
            sh(['cp', '-a', '/etc/ufw', `${this.tmp.path}/etc`]);
            sh(['cp', '-a', '/lib/ufw', `${this.tmp.path}/lib`]);
        }
        return this.tmp.path;
    }

    /** What runs a command in the server namespace with ufw's files the lab's copies. */
    wrapper(): string[] {
        return ['ip', 'netns', 'exec', SRV, 'unshare', '-m', '--propagation', 'private', 'sh', '-c',
            `mount --bind ${this.dir}/etc /etc/ufw && mount --bind ${this.dir}/lib /lib/ufw && exec "$@"`, 'ufw-lab'];
    }

    ufw(args: string[]): ReturnType<typeof sh> {
        return sh([...this.wrapper(), 'ufw', ...args]);
    }

    /** The rules files, as ufw keeps them (what must be as before after a share). */
    files(): string {
        return ['user.rules', 'user6.rules'].map(f => sh(['cat', `${this.dir}/etc/${f}`]).stdout).join('\n');
    }

    remove(): void {
        this.tmp.remove();
    }
}
