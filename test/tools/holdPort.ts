// Lab helper (not shipped): holds a TCP or UDP port so tests can check what the engine does when a port it
// needs is taken. Usage: gjs -m build/hold-port.js tcp|udp ADDRESS PORT   (ends on SIGTERM)
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';
import system from 'system';

const [proto, address, portText] = system.programArgs;
const udp = proto === 'udp';
const socket = Gio.Socket.new(Gio.SocketFamily.IPV4, udp ? Gio.SocketType.DATAGRAM : Gio.SocketType.STREAM,
    udp ? Gio.SocketProtocol.UDP : Gio.SocketProtocol.TCP);
socket.bind(Gio.InetSocketAddress.new_from_string(address, Number(portText)) as Gio.InetSocketAddress, false);
if (!udp)
    socket.listen();
print(`holding ${proto} ${address}:${portText}`);
new GLib.MainLoop(null, false).run();
