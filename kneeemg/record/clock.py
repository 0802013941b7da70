"""Device time to host time over a night: a running fit of the lower envelope.

Each data frame carries the device clock at its first sample (``timestamp_us``, 32 bits,
wrapping every 71.6 minutes). The host notes when the frame arrived. Arrival is the device
time plus a delay that is never negative and often large (BLE connection intervals,
USB polling, the scheduler), so the least-delayed frames trace the true relation. The
fit keeps, per bin of device time, the frame with the smallest host-minus-device
difference, and fits a line through those minima; its slope is the ratio of the clocks
(drift in ppm) and its intercept the offset.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

WRAP_US = 1 << 32


@dataclass
class ClockFit:
    """A running lower-envelope fit of host time against device time (see the module docstring).

    Parameters
    ----------
    bin_s : float
        Width of the device-time bins whose least-delayed point is kept, s.
    """

    bin_s: float = 10.0
    _bins: dict[int, tuple[float, float]] = field(default_factory=dict)
    n_points: int = 0

    @staticmethod
    def unwrap_us(timestamp_us: int, expected_us: float) -> float:
        """The 32-bit ``timestamp_us`` unwrapped to the wrap nearest ``expected_us``."""
        k = round((expected_us - timestamp_us) / WRAP_US)
        return float(timestamp_us + k * WRAP_US)

    def add(self, device_s: float, host_s: float) -> None:
        """One observation: a frame stamped ``device_s`` arrived at ``host_s``."""
        b = int(device_s // self.bin_s)
        best = self._bins.get(b)
        if best is None or host_s - device_s < best[1] - best[0]:
            self._bins[b] = (device_s, host_s)
        self.n_points += 1

    def fit(self) -> tuple[float, float] | None:
        """(slope, offset_s) with host_s ≈ offset_s + slope * device_s; None before two bins.

        With a single bin, the slope is taken as 1.
        """
        if not self._bins:
            return None
        pts = np.array(sorted(self._bins.values()))
        if len(pts) < 2:
            return 1.0, float(pts[0, 1] - pts[0, 0])
        slope, offset = np.polyfit(pts[:, 0] - pts[0, 0], pts[:, 1], 1)
        return float(slope), float(offset - slope * pts[0, 0])

    def host_time(self, device_s: float) -> float | None:
        """Host time of a device time, s (None before the first point)."""
        f = self.fit()
        return None if f is None else f[1] + f[0] * device_s

    def summary(self) -> dict[str, float | int] | None:
        """JSON-ready: slope, offset_s, drift_ppm, residual_ms (envelope points), n_points, n_bins."""
        f = self.fit()
        if f is None:
            return None
        pts = np.array(list(self._bins.values()))
        residual = pts[:, 1] - (f[1] + f[0] * pts[:, 0])
        return {"slope": f[0], "offset_s": f[1], "drift_ppm": (f[0] - 1.0) * 1e6,
                "residual_ms": float(np.max(np.abs(residual)) * 1e3), "n_points": self.n_points, "n_bins": len(pts)}
