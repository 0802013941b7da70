"""A desktop power manager's keep-awake service on a session D-Bus, for the tests.

Run as a program (``python tests/powermanager.py``) with ``DBUS_SESSION_BUS_ADDRESS`` set:
it owns ``org.freedesktop.PowerManagement`` and answers ``Inhibit`` and ``UnInhibit`` on
``/org/freedesktop/PowerManagement/Inhibit`` (the interface KDE's and other desktops' power
managers offer), printing ``ready`` once it owns the name, then one line per call
(``inhibit APPLICATION REASON COOKIE``, ``uninhibit COOKIE``). It stands in for the
desktop, which a test machine does not run; the bus and the calls are real.
"""

from __future__ import annotations

from jeepney import new_method_return

from dbus_service import serve

NAME = "org.freedesktop.PowerManagement"
PATH = "/org/freedesktop/PowerManagement/Inhibit"
INTERFACE = "org.freedesktop.PowerManagement.Inhibit"


def main() -> None:
    held: set[int] = set()
    cookies = iter(range(1, 1 << 31))

    def answer(call, msg, send) -> bool:
        if call == (PATH, INTERFACE, "Inhibit"):
            cookie = next(cookies)
            held.add(cookie)
            print("inhibit", *msg.body, cookie, flush=True)  # before the answer: the caller may look at once
            send(new_method_return(msg, "u", (cookie,)))
            return True
        if call == (PATH, INTERFACE, "UnInhibit") and msg.body[0] in held:
            held.discard(msg.body[0])
            print("uninhibit", msg.body[0], flush=True)
            send(new_method_return(msg))
            return True
        return False

    serve(NAME, "SESSION", answer)


if __name__ == "__main__":
    main()
