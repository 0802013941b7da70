"""An in-memory recording (small files, arrays, resampled data)."""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..words import plural
from .base import Recording, RecordingInfo
from .units import split_unit


class ArrayRecording(Recording):
    """A recording whose samples are already in memory.

    Parameters
    ----------
    data_uv : ndarray, shape (n_samples, n_channels)
    info : RecordingInfo
        ``n_samples`` and ``labels`` must agree with ``data_uv``.
    """

    def __init__(self, data_uv: np.ndarray, info: RecordingInfo) -> None:
        data = np.ascontiguousarray(data_uv, dtype=np.float64)
        if data.ndim != 2 or data.shape != (info.n_samples, info.n_channels):
            raise InputError(f"data of shape {data.shape} does not match {plural(info.n_samples, 'sample')} x "
                             f"{plural(info.n_channels, 'channel')}")
        self._data = data
        self.info = info

    def read(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        start, stop = self._range(start, stop)
        return self._data[start:stop]


def select_channels(data: np.ndarray, labels: tuple[str, ...], channels, source: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """Columns of ``data`` chosen by label (case-insensitive) or index."""
    idx = channel_indices(labels, channels, source)
    return data[:, idx], tuple(labels[i] for i in idx)


def check_channel_choice(channels) -> None:
    """Refuse a channel choice that names a label twice (labels ignore case), before any file
    is opened; an index and a label of the same channel are caught per file by
    :func:`channel_indices`."""
    if channels is None or isinstance(channels, (str, int)):
        return
    seen: set[str] = set()
    for ch in channels:
        key = str(ch).lower()
        if key in seen:
            raise InputError(f"--channels names {ch!r} twice (labels ignore case); name each channel once")
        seen.add(key)


def channel_indices(labels: tuple[str, ...], channels, source: str) -> list[int]:
    """Indices of ``channels`` (labels, case-insensitive, or integer indices) in ``labels``, each
    channel at most once; a label that several channels share is refused (they are chosen by
    index). A label with a voltage unit (``EMG (mV)``) also names the channel whose label is
    the same without it (``EMG``), as text files' labels are read."""
    if channels is None:
        return list(range(len(labels)))
    if isinstance(channels, (str, int)):
        channels = [channels]
    lower = [lab.lower() for lab in labels]
    out: list[int] = []
    for ch in channels:
        name = str(ch).lower()
        if name not in lower and split_unit(name)[0] in lower:  # 'EMG (mV)' for a column read as 'EMG'
            name = split_unit(name)[0]
        if isinstance(ch, int) or (isinstance(ch, str) and ch.isdecimal() and name not in lower):
            long = isinstance(ch, str) and len(ch.lstrip("0")) > 18  # (too many digits for any channel, or for int())
            i = -1 if long else int(ch)
            if not 0 <= i < len(labels):
                said = f"{ch[:18]}... ({len(ch)} digits)" if long else i
                raise InputError(f"{source}: channel index {said} is out of range; it has {plural(len(labels), 'channel')}")
        elif name in lower:
            i = lower.index(name)
            if lower.count(name) > 1:
                same = [str(j) for j, lab in enumerate(lower) if lab == name]
                raise InputError(f"{source}: {len(same)} channels are labelled {labels[i]!r} (indices {', '.join(same)}); "
                                 "choose them by index (counting from 0), e.g. --channels " + same[-1])
        else:
            raise InputError(f"{source}: no channel named {ch!r}; its channels are {', '.join(labels)}")
        if i in out:
            raise InputError(f"{source}: channel {labels[i]!r} is chosen twice (labels ignore case, indices count "
                             "from 0); name each channel once")
        out.append(i)
    return out
