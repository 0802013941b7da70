"""Shapes of motor-unit potentials."""

from __future__ import annotations

import numpy as np
import pytest

from kneeemg.shapes import hermite_rodriguez


@pytest.mark.parametrize("order, phases", [(1, 2), (2, 3)])
def test_hermite_rodriguez_has_peak_one_and_its_phases(order, phases):
    w = hermite_rodriguez(15, order)
    assert np.max(np.abs(w)) == pytest.approx(1.0)
    signs = np.sign(w[np.abs(w) > 0.05])
    assert 1 + np.count_nonzero(np.diff(signs)) == phases
