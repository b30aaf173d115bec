// Reading text off a picture of a screen (tesseract), for the lab: the applet's menus under Xvfb, a virtual
// client's VGA screen when it does not boot.
import GLib from 'gi://GLib';

import { sh } from './net.ts';

/**
 * The text tesseract reads in a picture of a screen: its black background made white, so that the page layout
 * analysis sees one page with text on it, and enlarged (menus and VGA text use small fonts).
 */
export function ocr(path: string): string {
    const big = `${path}.ocr.png`;
    sh(['convert', path, '-fill', 'white', '-opaque', 'black', '-resize', '300%', '-colorspace', 'Gray', big]);
    const r = sh(['tesseract', big, '-', '--psm', '3']);
    GLib.unlink(big);
    return r.stdout;
}
