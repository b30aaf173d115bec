// A client's stages, as the engine reports them and its clients (command line, applet) count them (pure).

export type Stage = 'discovered' | 'cannot-boot' | 'loading' | 'running' | 'gone';

/** A client that boots or runs from us (not gone, not one we cannot serve): what the counts count. */
export function isActive(c: { stage: string }): boolean {
    return c.stage !== 'gone' && c.stage !== 'cannot-boot';
}
