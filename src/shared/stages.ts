// A client's stages, as the engine reports them and its clients (command line, applet) count them (pure).

/** waiting: it asked, but only allowed computers may start and it is not one of them (it got no answer). */
export type Stage = 'discovered' | 'waiting' | 'cannot-boot' | 'loading' | 'running' | 'up' | 'gone';

/** Its live system runs from us: the root is mounted (running), or the system has started too (up). */
export function isRunning(c: { stage: string }): boolean {
    return c.stage === 'running' || c.stage === 'up';
}

/** A client that boots or runs from us (not gone, not one we cannot serve or do not answer): what the counts count. */
export function isActive(c: { stage: string }): boolean {
    return c.stage !== 'gone' && c.stage !== 'cannot-boot' && c.stage !== 'waiting';
}
