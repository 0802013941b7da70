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

from jeepney import new_error, new_method_return

from dbus_service import serve

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
    inhibitors = iter(range(1, 1 << 31))

    def answer(call, msg, send) -> bool:
        if call != (PATH, INTERFACE, "Inhibit"):
            return False
        if refuse:
            send(new_error(msg, "org.freedesktop.DBus.Error.AccessDenied", "s", ("Permission denied to block sleep",)))
            return True
        n = next(inhibitors)
        read_end, write_end = os.pipe()
        print("inhibit", *msg.body, n, flush=True)  # before the answer: the caller may look at once
        threading.Thread(target=_watch, args=(read_end, n), daemon=True).start()
        send(new_method_return(msg, "h", (write_end,)))
        os.close(write_end)  # (the caller's copy, sent with the answer, holds the inhibitor now)
        return True

    serve(NAME, "SYSTEM", answer, enable_fds=True)


if __name__ == "__main__":
    main("--refuse" in sys.argv[1:])
