import { decodeText, hasControlChars, oneLine } from '../../src/shared/text.ts';
import { resolveInMedium, isPlainPath } from '../../src/shared/paths.ts';

describe('text helpers', () => {
    it('decodes UTF-8, and Latin-1 when the bytes are not UTF-8', () => {
        expect(decodeText(new Uint8Array([0x63, 0xc3, 0xa9]))).toBe('cé');
        expect(decodeText(new Uint8Array([0x63, 0xe9, 0xff]))).toBe('cé\u00ff');
    });

    it('keeps a value on one line', () => {
        expect(oneLine('a\nLABEL evil\r\n\tb\u0007')).toBe('a LABEL evil b');
        expect(hasControlChars('x\ny')).toBeTrue();
        expect(hasControlChars('plain text')).toBeFalse();
    });
});

describe('medium paths', () => {
    it('resolves absolute and relative paths inside the medium', () => {
        expect(resolveInMedium('isolinux', '/casper/vmlinuz')).toBe('casper/vmlinuz');
        expect(resolveInMedium('isolinux', 'memtest')).toBe('isolinux/memtest');
        expect(resolveInMedium('isolinux', '../casper//./initrd')).toBe('casper/initrd');
    });

    it('refuses paths that leave the medium or hold control characters', () => {
        expect(resolveInMedium('isolinux', '../../etc/passwd')).toBeNull();
        expect(resolveInMedium('', '/../etc')).toBeNull();
        expect(resolveInMedium('', 'a\nb')).toBeNull();
    });

    it('tells plain paths from those that cannot be written unquoted', () => {
        expect(isPlainPath('casper/vmlinuz')).toBeTrue();
        expect(isPlainPath('live/initrd.img-6.1.0-9-amd64')).toBeTrue();
        expect(isPlainPath('my live/vmlinuz')).toBeFalse();
        expect(isPlainPath('a/../b')).toBeFalse();
        expect(isPlainPath('')).toBeFalse();
    });
});
