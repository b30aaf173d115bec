// The client platforms, as data (pure): what each kind of computer announces in DHCP (option 93, client system
// architecture, RFC 4578 and IANA's registry), which kernels it can start, the boot files it is given, where its
// boot loaders come from (this machine's signed packages, else the medium's own EFI/BOOT), and how it is named.
// A new platform is one new row; nothing else in the engine names an architecture.

export type PlatformId = 'bios' | 'uefi-x64' | 'uefi-arm64';
/** What a kernel image runs on. */
export type KernelArch = 'x86_64' | 'arm64';
/** A client's firmware as the client list (D-Bus `Clients`, status --json) names it. */
export type ClientArch = 'bios' | 'uefi' | 'uefi-arm64';

export interface Platform {
    id: PlatformId;
    /** For people: "BIOS", "UEFI", "UEFI ARM64". */
    label: string;
    clientArch: ClientArch;
    firmware: 'bios' | 'efi';
    /** The kernels it starts. */
    kernelArch: KernelArch;
    /** DHCP option 93 codes it sends. */
    archCodes: number[];
    /** dnsmasq's tag for those codes, and its proxy-DHCP client-system names (pxe-service CSA) for them. */
    tag: string;
    pxeServices: string[];
    /** GRUB's $grub_cpu when it runs there (the CD's menus test it). */
    grubCpu: string;
    /** EFI only: the file names in our TFTP root and where the loaders come from. */
    efi: {
        /** shim as the removable-media name the firmware is given, GRUB as shim looks for it, MokManager. */
        bootFile: string;
        grubFile: string;
        mokFile: string;
        /** The medium's own loaders, under EFI/BOOT (any case). */
        medium: { shim: string; grub: string; mok: string };
        /** This machine's signed loaders (Debian and Ubuntu paths; the first that exists). */
        system: { shim: string[]; mok: string[]; grubNet: string[] };
        /** grub-mkimage's target and its module folder, for the proxy-DHCP GRUB (see the README). */
        grubTarget: string;
        grubModules: string;
        /** The Debian/Ubuntu packages with the signed loaders, and with grub-mkimage's modules. */
        signedPackages: string;
        grubBinPackage: string;
    } | null;
}

export const PLATFORMS: readonly Platform[] = [
    {
        id: 'bios', label: 'BIOS', clientArch: 'bios', firmware: 'bios', kernelArch: 'x86_64', archCodes: [0], tag: 'bios', pxeServices: ['x86PC'],
        grubCpu: 'i386', efi: null,
    },
    {
        // 7 is "EFI BC" (dnsmasq calls it BC_EFI), which x86-64 firmware such as OVMF sends; 9 is "EFI x86-64".
        id: 'uefi-x64', label: 'UEFI', clientArch: 'uefi', firmware: 'efi', kernelArch: 'x86_64', archCodes: [7, 9], tag: 'efi64', pxeServices: ['BC_EFI', 'x86-64_EFI'],
        grubCpu: 'x86_64',
        efi: {
            bootFile: 'bootx64.efi', grubFile: 'grubx64.efi', mokFile: 'mmx64.efi',
            medium: { shim: 'BOOTX64.EFI', grub: 'grubx64.efi', mok: 'mmx64.efi' },
            // Ubuntu ships shimx64.efi.signed.latest (newest SBAT) next to shimx64.efi.signed.
            system: { shim: ['/usr/lib/shim/shimx64.efi.signed.latest', '/usr/lib/shim/shimx64.efi.signed'],
                mok: ['/usr/lib/shim/mmx64.efi.signed', '/usr/lib/shim/mmx64.efi'],
                grubNet: ['/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed'] },
            grubTarget: 'x86_64-efi', grubModules: '/usr/lib/grub/x86_64-efi',
            signedPackages: 'shim-signed and grub-efi-amd64-signed', grubBinPackage: 'grub-efi-amd64-bin',
        },
    },
    {
        id: 'uefi-arm64', label: 'UEFI ARM64', clientArch: 'uefi-arm64', firmware: 'efi', kernelArch: 'arm64', archCodes: [11], tag: 'arm64', pxeServices: ['ARM64_EFI'],
        grubCpu: 'arm64',
        efi: {
            bootFile: 'bootaa64.efi', grubFile: 'grubaa64.efi', mokFile: 'mmaa64.efi',
            medium: { shim: 'BOOTAA64.EFI', grub: 'grubaa64.efi', mok: 'mmaa64.efi' },
            system: { shim: ['/usr/lib/shim/shimaa64.efi.signed.latest', '/usr/lib/shim/shimaa64.efi.signed'],
                mok: ['/usr/lib/shim/mmaa64.efi.signed', '/usr/lib/shim/mmaa64.efi'],
                grubNet: ['/usr/lib/grub/arm64-efi-signed/grubnetaa64.efi.signed'] },
            grubTarget: 'arm64-efi', grubModules: '/usr/lib/grub/arm64-efi',
            signedPackages: 'shim-signed and grub-efi-arm64-signed (for ARM64)', grubBinPackage: 'grub-efi-arm64-bin',
        },
    },
];

/** Computers we know but serve nothing to, by option 93 code, for the client list ("cannot start this CD (…)"). */
const OTHER_ARCHS: Record<number, string> = {
    6: 'UEFI 32-bit', 10: 'UEFI ARM 32-bit', 15: 'UEFI x86 HTTP', 16: 'UEFI x86-64 HTTP', 19: 'UEFI ARM64 HTTP',
    25: 'UEFI RISC-V 64', 27: 'UEFI RISC-V 64',
};

/** Every PXE architecture code we know of. */
export const KNOWN_ARCH_CODES: readonly number[] = [...PLATFORMS.flatMap(p => p.archCodes), ...Object.keys(OTHER_ARCHS).map(Number)].sort((a, b) => a - b);

export function platform(id: PlatformId): Platform {
    return PLATFORMS.find(p => p.id === id) as Platform;
}

/** The platform a DHCP option 93 code means, or null. */
export function platformOfArch(code: number): Platform | null {
    return PLATFORMS.find(p => p.archCodes.includes(code)) ?? null;
}

/** How a client announcing `code` is named when we cannot serve it. */
export function archLabel(code: number): string {
    return platformOfArch(code)?.label ?? OTHER_ARCHS[code] ?? `arch ${code}`;
}

/** The platforms that can start a medium whose kernels are for `arch`. */
export function platformsFor(arch: KernelArch): Platform[] {
    return PLATFORMS.filter(p => p.kernelArch === arch);
}

/** A client arch as people read it: "BIOS", "UEFI", "UEFI ARM64" (null: not known). */
export function clientArchLabel(arch: string): string | null {
    return PLATFORMS.find(p => p.clientArch === arch)?.label ?? null;
}
