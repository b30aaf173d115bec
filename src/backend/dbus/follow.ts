// Following a share that another process owns (root's `share-this-cd start`): once a second, whether the lock
// is still held and what its status file says, until the owner lets go. Read-only: nothing of that share is
// ever touched from here.
import { type StatusJson, lockOwner, readStatus } from '../runtime/owner.ts';
import { after } from '../../shared/timers.ts';

/** What the follower reports: the owner's status, 'starting' before its status exists, 'ended' once it let go. */
export type Followed = StatusJson | 'starting' | 'ended';

export class ShareFollower {
    private timer: (() => void) | null = null;

    constructor(private readonly dir: string, private readonly onUpdate: (s: Followed) => void) {}

    /** Reports the current state; false (and nothing to stop) when no other process owns a share. */
    start(): boolean {
        if (!this.update())
            return false;
        const tick = (): void => {
            this.timer = this.update() ? after(1000, tick) : null;
        };
        this.timer = after(1000, tick);
        return true;
    }

    stop(): void {
        this.timer?.();
        this.timer = null;
    }

    private update(): boolean {
        if (lockOwner(this.dir) === null) {
            this.onUpdate('ended');
            return false;
        }
        this.onUpdate(readStatus(this.dir) ?? 'starting');
        return true;
    }
}
