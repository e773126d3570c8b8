#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A plain-frames peer for the tests, shaped like the classic simpletun.

    simpletun.py -i DEV [-a] (-s PORT | -c ADDR:PORT)

Attaches to the TUN (or, with -a, TAP) device DEV with IFF_NO_PI, and
carries every packet read from it over one TCP connection as a frame: a
2-byte big-endian length, then the packet (doc/PROTOCOL.md, "Plain
framing").  -s listens on PORT for one connection; -c connects to ADDR.
Frames from the connection are written to the device whole, one write
each, as simpletun does.  Exits 0 when the peer closes the connection, 1
on a malformed frame (a zero length), 2 on a usage error.
Written for the tests, independently of culvertd, so that the wire format
is checked by a second implementation.
"""
import fcntl
import os
import select
import socket
import struct
import sys

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
FRAME_MAX = 65535


def usage():
    sys.stderr.write(__doc__)
    sys.exit(2)


def open_device(name, tap):
    fd = os.open("/dev/net/tun", os.O_RDWR)
    flags = (IFF_TAP if tap else IFF_TUN) | IFF_NO_PI
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), flags))
    return fd


def connect(args):
    if args.get("-s"):
        lsock = socket.socket(socket.AF_INET6)
        lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        lsock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        lsock.bind(("::", int(args["-s"])))
        lsock.listen(1)
        print("listening", flush=True)
        conn, _ = lsock.accept()
        lsock.close()
        return conn
    host, _, port = args["-c"].rpartition(":")
    return socket.create_connection((host.strip("[]"), int(port)), timeout=10)


def main():
    argv = sys.argv[1:]
    args = {}
    while argv:
        opt = argv.pop(0)
        if opt == "-a":
            args[opt] = True
        elif opt in ("-i", "-s", "-c") and argv:
            args[opt] = argv.pop(0)
        else:
            usage()
    if "-i" not in args or ("-s" in args) == ("-c" in args):
        usage()
    dev = open_device(args["-i"], args.get("-a", False))
    conn = connect(args)
    conn.settimeout(None)
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    print("connected", flush=True)
    buf = b""
    while True:
        readable, _, _ = select.select([dev, conn], [], [])
        if dev in readable:
            pkt = os.read(dev, FRAME_MAX)
            conn.sendall(struct.pack("!H", len(pkt)) + pkt)
        if conn in readable:
            data = conn.recv(1 << 16)
            if not data:
                return 0
            buf += data
            while len(buf) >= 2:
                (length,) = struct.unpack("!H", buf[:2])
                if length == 0:
                    sys.stderr.write("simpletun.py: a frame of length 0\n")
                    return 1
                if len(buf) < 2 + length:
                    break
                os.write(dev, buf[2 : 2 + length])
                buf = buf[2 + length :]


if __name__ == "__main__":
    sys.exit(main())
