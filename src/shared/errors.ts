// One error type for everything a user can meet. Each code maps to a D-Bus error name
// io.github.ShareThisCD1.Error.<Code> (registered by the helper); the message is a translated sentence that
// says what happened and what to do, never a stack trace.

export type ErrorCode =
    | 'NoLiveMedium'        // the folder/ISO holds no Linux live system we can share
    | 'UnsupportedMedium'   // a live system we recognise but cannot netboot (yet)
    | 'InvalidOption'       // a malformed argument (bad IP, newline, '..', unknown key…)
    | 'NoUsableInterface'
    | 'DhcpConflict'
    | 'DaemonFailed'
    | 'AlreadySharing'
    | 'NotSharing'
    | 'Busy'                // the helper is starting or stopping a share right now
    | 'AuthorizationDismissed'; // the user closed the password dialog

export class ShareError extends Error {
    readonly code: ErrorCode;

    constructor(code: ErrorCode, message: string) {
        super(message);
        this.name = 'ShareError';
        this.code = code;
    }
}

export function isShareError(e: unknown): e is ShareError {
    return e instanceof ShareError;
}
