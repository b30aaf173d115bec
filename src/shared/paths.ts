// Path arithmetic for paths *inside a medium* (pure, POSIX, no file system access).
// A medium path is relative to the medium root, uses '/', has no '.', '..' or empty segments.

/**
 * Resolves `path` (absolute = from the medium root, or relative to `cwd`, itself a medium path) to a normalized
 * medium path. Returns null when the result would leave the medium ('..' above the root) or the path holds a
 * NUL or a control character.
 */
export function resolveInMedium(cwd: string, path: string): string | null {
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(path))
        return null;
    const segments = path.startsWith('/') ? [] : cwd.split('/').filter(s => s !== '');
    for (const seg of path.split('/')) {
        if (seg === '' || seg === '.')
            continue;
        if (seg === '..') {
            if (segments.length === 0)
                return null;
            segments.pop();
        } else {
            segments.push(seg);
        }
    }
    return segments.join('/');
}

export function dirname(mediumPath: string): string {
    const i = mediumPath.lastIndexOf('/');
    return i < 0 ? '' : mediumPath.slice(0, i);
}

export function basename(mediumPath: string): string {
    const i = mediumPath.lastIndexOf('/');
    return i < 0 ? mediumPath : mediumPath.slice(i + 1);
}

/** Characters a file path may have to be written into a pxelinux/GRUB line and fetched over TFTP/HTTP unquoted. */
export function isPlainPath(mediumPath: string): boolean {
    return /^[A-Za-z0-9._+@%~,=-]+(\/[A-Za-z0-9._+@%~,=-]+)*$/.test(mediumPath)
        && !mediumPath.split('/').some(s => s === '.' || s === '..');
}
