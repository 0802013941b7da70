"""A desktop power manager's keep-awake service on a session D-Bus, for the tests.

Run as a program (``python tests/powermanager.py``) with ``DBUS_SESSION_BUS_ADDRESS`` set:
it owns ``org.freedesktop.PowerManagement`` and answers ``Inhibit`` and ``UnInhibit`` on
``/org/freedesktop/PowerManagement/Inhibit`` (the interface KDE's and other desktops' power
managers offer), printing ``ready`` once it owns the name, then one line per call
(``inhibit APPLICATION REASON COOKIE``, ``uninhibit COOKIE``). It stands in for the
desktop, which a test machine does not run; the bus and the calls are real.
"""

from __future__ import annotations

from jeepney import HeaderFields, MessageType, new_error, new_method_return
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import open_dbus_connection

NAME = "org.freedesktop.PowerManagement"
PATH = "/org/freedesktop/PowerManagement/Inhibit"
INTERFACE = "org.freedesktop.PowerManagement.Inhibit"


def main() -> None:
    conn = open_dbus_connection(bus="SESSION")
    conn.send_and_get_reply(message_bus.RequestName(NAME))
    print("ready", flush=True)
    held: set[int] = set()
    cookie = 0
    while True:
        msg = conn.receive()
        if msg.header.message_type != MessageType.method_call:
            continue
        fields = msg.header.fields
        call = (fields.get(HeaderFields.path), fields.get(HeaderFields.interface), fields.get(HeaderFields.member))
        if call == (PATH, INTERFACE, "Inhibit"):
            cookie += 1
            held.add(cookie)
            print("inhibit", *msg.body, cookie, flush=True)  # before the answer: the caller may look at once
            conn.send(new_method_return(msg, "u", (cookie,)))
        elif call == (PATH, INTERFACE, "UnInhibit") and msg.body[0] in held:
            held.discard(msg.body[0])
            print("uninhibit", msg.body[0], flush=True)
            conn.send(new_method_return(msg))
        else:
            conn.send(new_error(msg, "org.freedesktop.DBus.Error.UnknownMethod", "s", (f"no such method: {call}",)))


if __name__ == "__main__":
    main()
