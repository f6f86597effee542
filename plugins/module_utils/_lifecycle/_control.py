# -*- coding: utf-8 -*-
# Copyright (c) linuxns.pidns contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The control socket between a module and the processes it forks: sandbox creation (the
launcher and the new PID 1) and sandbox_exec (the joiner and the command) speak the same way."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import socket
import struct


def control_socket():
    """(ours, theirs): SOCK_SEQPACKET, one message per send. SO_PASSCRED on our end makes the kernel
    attach each sender's PID as this process sees it (the host's view, even from a nested PID
    namespace), so no /proc search is needed to learn it."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    return ours, theirs


def send_message(sock, *fields):
    """Best effort: the module may already have given up waiting."""
    try:
        sock.send("\0".join(str(field) for field in fields).encode("utf-8", "replace")[:4000])
    except OSError:
        pass


def send_error(sock, stage, exc):
    send_message(sock, "error", stage, getattr(exc, "errno", None) or 0, exc)


def receive_message(sock):
    """(fields, sender's PID) of the next message; (None, None) once every sender is gone."""
    message, ancillary, _flags, _addr = sock.recvmsg(4096, socket.CMSG_SPACE(12))
    if not message:
        return None, None
    sender = None
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            sender = struct.unpack("iII", data[:12])[0]
    return message.decode("utf-8", "replace").split("\0", 3), sender
