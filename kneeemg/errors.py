"""Exceptions raised by kneeemg.

Every error the library raises on purpose derives from :class:`KneeEmgError`. The
message is one line that says what is wrong and how to fix it; the command-line
interface prints it as it is and exits with a non-zero code.
"""

from __future__ import annotations

#: What a message says of a full disk (the history's or any other file's).
DISK_FULL = "the disk is full; free some space on it and run the command again"


class KneeEmgError(Exception):
    """Root of all kneeemg errors."""

    exit_code = 1


class InputError(KneeEmgError):
    """Bad user input: a value, an argument, a file's content."""

    exit_code = 2


class RecordingFormatError(InputError):
    """A recording file that cannot be read (unknown format, truncated, corrupt)."""


class ConfigError(InputError):
    """A configuration value outside its allowed range."""


class DeviceError(KneeEmgError):
    """A sensor or transport problem (port, BLE link, protocol)."""

    exit_code = 3


class StoreError(KneeEmgError):
    """A problem with the history database."""

    exit_code = 4
