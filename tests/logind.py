"""systemd's login manager's inhibitors on a D-Bus, for the tests.

Run as a program (``python tests/logind.py``) with ``DBUS_SYSTEM_BUS_ADDRESS`` set to a bus
of the test's own: it owns ``org.freedesktop.login1`` and answers ``Inhibit`` on
``/org/freedesktop/login1`` as the login manager does, with a file descriptor that holds the
inhibitor while the caller keeps it open. It prints ``ready`` once it owns the name, then
``inhibit WHAT WHO WHY MODE N`` for each call and ``released N`` when inhibitor N's
descriptor is closed (by the caller, or as its process ends); with ``--refuse`` it answers
every call with the error a user without the permission gets. It stands in for the login
manager, which a test machine does not run; the bus, the call and the descriptor are real.
"""

from __future__ import annotations

import os
import sys
import threading

from jeepney import HeaderFields, MessageType, new_error, new_method_return
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import open_dbus_connection

NAME = "org.freedesktop.login1"
PATH = "/org/freedesktop/login1"
INTERFACE = "org.freedesktop.login1.Manager"


def _watch(read_end: int, n: int) -> None:
    """Print ``released n`` once every copy of the pipe's write end is closed."""
    while os.read(read_end, 1):
        pass
    os.close(read_end)
    print("released", n, flush=True)


def main(refuse: bool) -> None:
    conn = open_dbus_connection(bus="SYSTEM", enable_fds=True)
    conn.send_and_get_reply(message_bus.RequestName(NAME))
    print("ready", flush=True)
    n = 0
    while True:
        msg = conn.receive()
        if msg.header.message_type != MessageType.method_call:
            continue
        fields = msg.header.fields
        call = (fields.get(HeaderFields.path), fields.get(HeaderFields.interface), fields.get(HeaderFields.member))
        if call != (PATH, INTERFACE, "Inhibit"):
            conn.send(new_error(msg, "org.freedesktop.DBus.Error.UnknownMethod"))
            continue
        if refuse:
            conn.send(new_error(msg, "org.freedesktop.DBus.Error.AccessDenied", "s",
                                ("Permission denied to block sleep",)))
            continue
        n += 1
        read_end, write_end = os.pipe()
        print("inhibit", *msg.body, n, flush=True)  # before the answer: the caller may look at once
        threading.Thread(target=_watch, args=(read_end, n), daemon=True).start()
        conn.send(new_method_return(msg, "h", (write_end,)))
        os.close(write_end)  # (the caller's copy, sent with the answer, holds the inhibitor now)


if __name__ == "__main__":
    main("--refuse" in sys.argv[1:])
