"""Keep the computer from falling asleep while a night is recorded.

A laptop left alone for the night goes to sleep after its idle time, and the recording
pauses with it: the sensor's samples of those hours are lost. :func:`kept_awake` asks the
operating system not to sleep for as long as its block runs, through wakepy's
``keep.running`` mode: on Linux a desktop's power manager over the session D-Bus
(``org.freedesktop.PowerManagement`` or ``org.gnome.SessionManager``), or else systemd's
login manager over the system D-Bus (``org.freedesktop.login1``: a "sleep" inhibitor, as
``systemd-inhibit`` takes one; this one works without a desktop, under a window manager
alone or over SSH), on macOS ``caffeinate``, on Windows ``SetThreadExecutionState``. The
screen may still turn off and lock. Closing a laptop's lid may still put it to sleep,
whatever is asked.

Where no method works (a Linux machine without systemd's login manager and without a
desktop session, say), the block runs all the same and says why, so that the person can set
the computer not to sleep.
"""

from __future__ import annotations

import functools
import os
import re
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

#: wakepy's name of the method that asks systemd's login manager (:func:`_logind_method`).
LOGIND = "org.freedesktop.login1"
#: What the login manager's inhibitor holds off: sleep (suspend, hibernate) and the idle action.
LOGIND_WHAT = "sleep:idle"


@dataclass(frozen=True)
class KeepAwake:
    """Whether the computer is kept from sleeping.

    Attributes
    ----------
    held : bool
        The operating system was asked not to sleep, and agreed.
    method : str
        How (``"org.gnome.SessionManager"``, ``"caffeinate"``, ...) when held; empty otherwise.
    why_not : str
        When not held, why not, in one line: each method tried, with the reason it failed.
    """

    held: bool
    method: str = ""
    why_not: str = ""


def _why_not(mode) -> str:
    """One line: each method wakepy tried on this platform and why it failed."""
    tried = [r for r in mode.result.list_methods(ignore_platform_fails=True, ignore_unused=True) if not r.success]
    if not tried:
        return "wakepy has no method for this operating system"
    parts = []
    for r in tried:
        reason = " ".join(str(r.failure_reason).split())
        bare = re.fullmatch(r"\w+(?:Error|Exception)\((['\"])(.*)\1\)", reason)  # (wakepy gives an exception's repr)
        if bare:
            reason = bare.group(2)
        if "DBUS_SESSION_BUS_ADDRESS is not set" in reason:
            reason = "no desktop session (no session D-Bus)"
        elif reason.startswith("no system D-Bus"):
            reason = "no system D-Bus (no systemd login manager)"
        elif "ServiceUnknown" in reason or "was not provided by any .service files" in reason:
            reason = f"no such service on the {'system' if r.method_name == LOGIND else 'session'} D-Bus"
        parts.append(f"{r.method_name}: {reason[:120]}")
    return "; ".join(parts)


@contextmanager
def kept_awake() -> Iterator[KeepAwake]:
    """Keep the computer from sleeping while the block runs (see the module docstring).

    Yields
    ------
    KeepAwake
        Whether it is held and how, or why not. The block runs either way; the request
        ends with the block.
    """
    from wakepy import keep

    _logind_method()  # (registered with wakepy once, the first time it is needed)
    with keep.running(on_fail="pass", methods_priority=["*", LOGIND]) as mode:
        if mode.active:
            yield KeepAwake(True, method=str(mode.active_method or ""))
        else:
            yield KeepAwake(False, why_not=_why_not(mode))


def _system_bus_reachable() -> str:
    """Why the system D-Bus cannot be reached ("" when it may be): its socket, as D-Bus
    clients find it (``DBUS_SYSTEM_BUS_ADDRESS``, else ``/var/run/dbus/system_bus_socket``)."""
    address = os.environ.get("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/var/run/dbus/system_bus_socket")
    for part in address.split(";"):
        if part.startswith("unix:path="):
            path = part[len("unix:path="):].split(",")[0]
            return "" if os.path.exists(path) else f"no system D-Bus (no {path})"
    return ""  # (an abstract socket or another transport: the call will tell)


@functools.lru_cache(maxsize=None)
def _logind_method() -> type:
    """The wakepy method that takes a "sleep" inhibitor from systemd's login manager
    (``org.freedesktop.login1.Manager.Inhibit``, mode "block"); made and registered with
    wakepy once, when first needed. The inhibitor is a file descriptor the manager hands
    over: held while it is open, released when it is closed (or the process ends)."""
    from wakepy.core import Method, ModeName, PlatformType
    from wakepy.core.registry import get_method

    try:  # a wakepy with a method of that name of its own: that one (a second would be refused)
        return get_method(LOGIND, ModeName.KEEP_RUNNING)
    except ValueError:
        pass

    class LogindInhibit(Method):
        name = LOGIND
        mode_name = ModeName.KEEP_RUNNING
        supported_platforms = (PlatformType.LINUX,)

        def __init__(self, **kwargs: object) -> None:
            super().__init__(**kwargs)
            self.fd: int | None = None

        def caniuse(self) -> bool | str:
            return _system_bus_reachable() or True

        def enter_mode(self) -> None:
            from jeepney import DBusAddress, MessageType, new_method_call
            from jeepney.io.blocking import open_dbus_connection

            manager = DBusAddress("/org/freedesktop/login1", bus_name=LOGIND, interface=f"{LOGIND}.Manager")
            call = new_method_call(manager, "Inhibit", "ssss",
                                   (LOGIND_WHAT, "kneeemg", "recording a night of EMG", "block"))
            with open_dbus_connection(bus="SYSTEM", enable_fds=True) as conn:
                reply: Any = conn.send_and_get_reply(call, timeout=10)
            if reply.header.message_type == MessageType.error:
                raise RuntimeError(" ".join(str(x) for x in reply.body) or "the login manager refused")
            self.fd = reply.body[0].to_raw_fd()

        def exit_mode(self) -> None:
            if self.fd is not None:
                os.close(self.fd)
                self.fd = None

    return LogindInhibit
