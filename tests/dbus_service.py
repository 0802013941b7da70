"""The D-Bus side of the tests' stand-in services (``powermanager.py``, ``logind.py``)."""

from __future__ import annotations

from typing import Callable

from jeepney import HeaderFields, MessageType, new_error
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import open_dbus_connection


def serve(name: str, bus: str, answer: Callable, enable_fds: bool = False) -> None:
    """Own ``name`` on ``bus`` ("SESSION" or "SYSTEM", as its environment variable names it),
    print ``ready``, then hand each method call to ``answer(call, msg, send)`` (``call``: its
    path, interface and member), which sends the reply and returns True; a call it returns
    False for gets D-Bus's "unknown method" error."""
    conn = open_dbus_connection(bus=bus, enable_fds=enable_fds)
    conn.send_and_get_reply(message_bus.RequestName(name))
    print("ready", flush=True)
    while True:
        msg = conn.receive()
        if msg.header.message_type != MessageType.method_call:
            continue
        fields = msg.header.fields
        call = (fields.get(HeaderFields.path), fields.get(HeaderFields.interface), fields.get(HeaderFields.member))
        if not answer(call, msg, conn.send):
            conn.send(new_error(msg, "org.freedesktop.DBus.Error.UnknownMethod", "s", (f"no such method: {call}",)))
