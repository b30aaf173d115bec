// Reading text off a picture of a screen (tesseract), for the lab: the applet's menus under Xvfb, a virtual
// client's VGA screen when it does not boot.
import GLib from 'gi://GLib';

import { sh } from './net.ts';

/**
 * How a picture is prepared for tesseract, which reads dark text on a light page best:
 * - 'desktop' (the applet's menus under Xvfb): dark text on light menus, on a black root window; the black is
 *   made white, so that the page layout analysis sees one page with text on it.
 * - 'vga' (a virtual client's text screen): light text on black or coloured boxes; the picture is inverted, with
 *   a black border first so that the top line (pxelinux's menu title) is not at the picture's edge.
 * - 'line' (one line of light text on a coloured bar: the selected row of a list): inverted, read as one line.
 * - 'window' (a window's own picture: dark text on a light window, no root window around it): as it is (the
 *   black-to-white of 'desktop' would blank its black text).
 * All are enlarged: menus and VGA text use small fonts.
 */
export type OcrKind = 'desktop' | 'vga' | 'line' | 'window';

/** The text tesseract reads in a picture of a screen. */
export function ocr(path: string, kind: OcrKind = 'desktop'): string {
    const big = `${path}.ocr.png`;
    const prepare = kind === 'vga'
        ? ['-bordercolor', 'black', '-border', '16', '-resize', '300%', '-colorspace', 'Gray', '-negate']
        : kind === 'line' ? ['-resize', '300%', '-colorspace', 'Gray', '-negate']
            : kind === 'window' ? ['-resize', '300%', '-colorspace', 'Gray']
                : ['-fill', 'white', '-opaque', 'black', '-resize', '300%', '-colorspace', 'Gray'];
    sh(['convert', path, ...prepare, big]);
    const r = sh(['tesseract', big, '-', '--psm', kind === 'line' ? '7' : '3']);
    GLib.unlink(big);
    return r.stdout;
}
