"""A recording resampled block by block as it is read (bounded memory, whatever its length).

Each read resamples only the input it needs, with enough input on either side for the
polyphase filter (scipy's ``resample_poly``, whose default filter reaches ``10 * max(up,
down)`` samples of the upsampled signal either side) and starting at a multiple of ``down``
input samples, so that the filter's phases line up with the whole file's: the samples equal
those of resampling the whole file at once, to within float rounding.
"""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import numpy as np

from .base import Gap, Recording, RecordingInfo


def ratio(fs_hz: float, to_hz: float) -> tuple[int, int]:
    """``(up, down)`` of resampling from ``fs_hz`` to ``to_hz`` (denominator at most 1000)."""
    frac = Fraction(to_hz / fs_hz).limit_denominator(1000)
    return frac.numerator, frac.denominator


class ResampledRecording(Recording):
    """``inner`` resampled to ``fs_hz``: gaps and annotations moved to the new sample indices
    (what lies in seconds, such as annotated artefacts, stays as it is), and each gap held at
    the last value again after resampling (which ripples it), as readers fill a gap."""

    def __init__(self, inner: Recording, fs_hz: float) -> None:
        self._inner = inner
        self._up, self._down = ratio(inner.info.fs_hz, fs_hz)
        # input samples either side of a block that the filter reaches (see the module's text)
        self._margin = -(-10 * max(self._up, self._down) // self._up) + 2
        n = inner.info.n_samples * self._up
        self.info = _at_rate(inner.info, fs_hz, n // self._down + bool(n % self._down))

    def _resampled(self, start: int, stop: int) -> np.ndarray:
        """Samples ``start:stop`` of the resampled signal, gaps not held."""
        from scipy.signal import resample_poly

        up, down = self._up, self._down
        first = max(0, start * down // up - self._margin)
        first -= first % down  # the filter's phases as in the whole file
        last = min(self._inner.info.n_samples, -(-stop * down // up) + self._margin)
        y = resample_poly(self._inner.read(first, last), up, down, axis=0)
        offset = first * up // down
        return np.ascontiguousarray(y[start - offset : stop - offset])

    def read(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        start, stop = self._range(start, stop)
        out = self._resampled(start, stop)
        n = self.info.n_samples
        for g in self.info.gaps:
            a, e = g.start_sample, g.start_sample + g.n_samples
            if a < stop and e > start and stop > start:
                hold = self.read(a - 1, a)[0] if a else self._resampled(min(e, n - 1), min(e, n - 1) + 1)[0]
                out[max(a, start) - start : min(e, stop) - start] = hold
        return out

    def close(self) -> None:
        self._inner.close()


def _at_rate(info: RecordingInfo, fs_hz: float, n_samples: int) -> RecordingInfo:
    """``info`` for the recording resampled to ``fs_hz``, ``n_samples`` long."""

    def at(i: int) -> int:
        return min(n_samples, int(round(i * fs_hz / info.fs_hz)))

    gaps = [Gap(at(g.start_sample), at(g.start_sample + g.n_samples) - at(g.start_sample), g.reason) for g in info.gaps]
    annotations = [replace(e, onset_sample=at(e.onset_sample), offset_sample=max(at(e.offset_sample), at(e.onset_sample) + 1),
                           fs_hz=fs_hz) for e in info.annotations]
    content = min(c for c in (info.content_hz, info.fs_hz / 2) if c is not None)
    return replace(info, fs_hz=fs_hz, n_samples=n_samples, gaps=[g for g in gaps if g.n_samples > 0], annotations=annotations,
                   content_hz=content if content < fs_hz / 2 else None)
