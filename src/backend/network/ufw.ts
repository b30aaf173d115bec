// Opening ufw for the share, with ufw's own commands: when ufw is active its chains (iptables-nft's) are its to
// write, and a rule put there by another tool is lost at ufw's next reload and confuses iptables. One rule per
// protocol, on the shared interface only (`allow in on IFACE`), with a comment that says whose it is. ufw keeps
// its rules in /etc/ufw (ufw has no rules that last only until a reboot): each is a journal entry, deleted at
// the end, and the journal of a share that crashed deletes them at the next start. A rule that ufw already has
// (the user's own) is neither added nor deleted. ufw does nothing while it is inactive (a rule added then
// would be written to its files): nothing is asked of it then. The helper's sandbox (systemd) lets it write
// neither /etc/ufw nor ufw's lock in /run: there ufw is run by systemd, outside the sandbox (`systemd-run`).
// ufwRules(), ruleKey(), addedRules() and ufwConfEnabled() are pure; the rest are effects.
import GLib from 'gi://GLib';

import type { Ports } from './firewall.ts';
import { run } from '../services/supervisor.ts';
import { readTextFile } from '../../shared/fsutil.ts';

export const UFW = 'ufw';
export const UFW_CONF = '/etc/ufw/ufw.conf';

/**
 * What ufw.conf says of ufw: `ufw enable` and `ufw disable` write ENABLED=yes or no there, and ufw loads its
 * rules (at boot, or on enable) only where it says yes. null: no ENABLED line (then only ufw itself can tell).
 */
export function ufwConfEnabled(conf: string): boolean | null {
    let enabled: boolean | null = null;
    for (const line of conf.split('\n')) {
        const m = /^\s*ENABLED\s*=\s*["']?(\w*)["']?\s*$/.exec(line);
        if (m)
            enabled = m[1].toLowerCase() === 'yes';
    }
    return enabled;
}

/** Interface names ufw takes (and nothing a shell or ufw's parser would read as more). */
const IFACE = /^[A-Za-z0-9_.:-]{1,15}$/;

/** The `ufw allow …` arguments (after "allow") of our rules: one per protocol, its ports as a list. */
export function ufwRules(iface: string, ports: Ports): string[][] {
    if (!IFACE.test(iface))
        return [];
    const rules: string[][] = [];
    for (const protocol of ['udp', 'tcp'] as const) {
        const list = [...new Set(ports[protocol])].filter(p => Number.isInteger(p) && p > 0 && p < 65536).sort((a, b) => a - b);
        // ufw takes at most 15 ports in one rule.
        for (let i = 0; i < list.length; i += 15)
            rules.push(['in', 'on', iface, 'to', 'any', 'port', list.slice(i, i + 15).join(','), 'proto', protocol]);
    }
    return rules;
}

/** A rule as `ufw show added` writes it, without its comment: what tells two rules apart. */
export function ruleKey(words: string[]): string {
    return `ufw allow ${words.join(' ')}`;
}

/** The rules of `ufw show added` output, each without its comment. */
export function addedRules(showAdded: string): Set<string> {
    return new Set(showAdded.split('\n').map(l => l.trim().replace(/ comment '(?:[^'\\]|\\.)*'$/, '')).filter(l => l.startsWith('ufw ')));
}

/** The command line of `ufw ARGS`: by systemd for the helper that systemd runs (see above). */
export function ufwArgv(args: string[], underSystemd: boolean): string[] {
    return underSystemd ? ['systemd-run', '--quiet', '--wait', '--pipe', '--collect', '--service-type=exec', '--', UFW, ...args] : [UFW, ...args];
}

function ufw(args: string[]): ReturnType<typeof run> {
    const underSystemd = GLib.getenv('INVOCATION_ID') !== null && GLib.file_test('/run/systemd/system', GLib.FileTest.IS_DIR)
        && GLib.find_program_in_path('systemd-run') !== null;
    return run(ufwArgv(args, underSystemd));
}

/**
 * ufw is installed and active (its rules are in force). Where ufw.conf says it is disabled (Ubuntu's default),
 * ufw itself is not asked: its command is a Python start-up, about 0.3 s of every start and stop.
 */
export function ufwActive(): boolean {
    if (GLib.find_program_in_path(UFW) === null || ufwConfEnabled(readTextFile(UFW_CONF) ?? '') === false)
        return false;
    const r = ufw(['status']);
    return r.status === 0 && /^Status: active$/m.test(r.stdout);
}

/** The rules ufw has (those its user added, and ours). */
export function ufwAdded(): Set<string> {
    return addedRules(ufw(['show', 'added']).stdout);
}

/** Adds one of our rules; throws with ufw's words when it refuses. */
export function ufwAllow(words: string[], comment: string): void {
    const r = ufw(['allow', ...words, 'comment', comment]);
    if (r.status !== 0)
        throw new Error(`ufw: ${(r.stderr.trim() || r.stdout.trim())}`);
}

/** Deletes one of our rules; false when ufw has no such rule (any more). */
export function ufwDelete(words: string[]): boolean {
    if (!ufwAdded().has(ruleKey(words)))
        return false;
    const r = ufw(['delete', 'allow', ...words]);
    if (r.status !== 0)
        throw new Error(`ufw: ${(r.stderr.trim() || r.stdout.trim())}`);
    return true;
}
