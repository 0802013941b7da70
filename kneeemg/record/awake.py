"""Keep the computer from falling asleep while a night is recorded.

A laptop left alone for the night goes to sleep after its idle time, and the recording
pauses with it: the sensor's samples of those hours are lost. :func:`kept_awake` asks the
operating system not to sleep for as long as its block runs, through wakepy's
``keep.running`` mode: on Linux a desktop's power manager over the session D-Bus
(``org.freedesktop.PowerManagement`` or ``org.gnome.SessionManager``), on macOS
``caffeinate``, on Windows ``SetThreadExecutionState``. The screen may still turn off and
lock. Closing a laptop's lid may still put it to sleep, whatever is asked.

Where no method works (a Linux machine without a desktop session, say), the block runs all
the same and says why, so that the person can set the computer not to sleep.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator


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
        if "DBUS_SESSION_BUS_ADDRESS is not set" in reason:
            reason = "no desktop session (no session D-Bus)"
        elif "ServiceUnknown" in reason or "was not provided by any .service files" in reason:
            reason = "no such service on the session D-Bus"
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

    with keep.running(on_fail="pass") as mode:
        if mode.active:
            yield KeepAwake(True, method=str(mode.active_method or ""))
        else:
            yield KeepAwake(False, why_not=_why_not(mode))
