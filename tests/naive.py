"""Slow, obviously right reference implementations of the numba kernels.

Each function follows the rules in ``docs/detector.md`` one sample at a time in plain
Python (or uses scipy where scipy already is the reference). The kernel tests compare the
kernels against these on short signals.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import signal as sps

from kneeemg.dsp import _kernels as K


def sosfilt(sos: np.ndarray, x: np.ndarray, zi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """scipy's sosfilt per channel; ``zi`` in the kernels' layout (n_channels, n_sections, 2)."""
    y = np.empty_like(x)
    zf = np.empty_like(zi)
    for c in range(x.shape[1]):
        y[:, c], zf[c] = sps.sosfilt(sos, x[:, c], zi=zi[c])
    return y, zf


def template_outputs(y_uv: np.ndarray, tmpl: np.ndarray, tlen: np.ndarray) -> np.ndarray:
    """Each potential template's output at each sample of ``y_uv`` (n_samples,), zeros
    before it: its correlation with the samples it covers, which end there.

    Returns
    -------
    ndarray, shape (n_samples, n_templates), µV
    """
    y = np.asarray(y_uv, dtype=float)
    shapes = tmpl[0]
    out = np.empty((len(y), shapes.shape[1]))
    for j, (length, _) in enumerate(tlen):
        h = shapes[len(shapes) - length :, j]
        out[:, j] = np.convolve(y, h[::-1])[: len(y)] if len(y) else 0.0
    return out


def moving_ms(y: np.ndarray, window: int) -> np.ndarray:
    """Mean square of the last ``window`` samples (zeros before the start), per channel."""
    n = len(y)
    padded = np.vstack([np.zeros((window - 1, y.shape[1])), y])
    return np.array([np.mean(padded[i : i + window] ** 2, axis=0) for i in range(n)])


def detect(x, y, lo, env2, envw2, envt2, p, floor0, ring_len, corr, tmpl, tlen, acf0, known=None, spk=None, stp=None):
    """Plain-Python burst detector, floor, epochs and WASM movements for one whole signal.

    ``x``, ``y`` and ``lo`` are the raw, band-passed and low-band signals, shape
    (n_samples, n_channels), starting at absolute sample 0; ``env2``, ``envw2`` and ``envt2``
    are the mean squares of ``y`` over the detection, WASM and onset windows (:func:`moving_ms`), compared
    with squared levels; ``p`` is the kernels' parameter vector, ``floor0`` the starting
    floor per channel and ``ring_len`` the number of quiet blocks the floor remembers. ``corr``
    holds the potential templates' outputs (n_samples, n_channels, n_templates), ``tmpl``,
    ``tlen`` the templates as the kernel takes them and ``acf0`` the background's starting
    autocorrelation (n_channels, L_max). A channel whose ``known`` is False (a flat warm-up)
    starts with a stale floor, which its first usable block teaches (its share of quiet blocks
    at ``K.FRESH_SHARE``). ``spk`` and ``stp`` are the filters' responses to a single-sample
    spike and to an offset step at unit energy (None or empty: that test is off).

    Returns
    -------
    records : list of (kind, channel, onset, offset, peak, rms, floor)
    epochs : list of (epoch index, [flags per channel], [floor per channel])
    """
    n, nch = x.shape
    onset_r, offset_r = p[K.P_ONSET], p[K.P_OFFSET]
    hold, block, epoch = int(p[K.P_HOLD]), int(p[K.P_BLOCK]), int(p[K.P_EPOCH])
    bridge_max = int(p[K.P_BRIDGE_MAX])
    bridging = bridge_max > hold  # the bridge is on
    e_win, w_win, w_hold = int(p[K.P_ENV_WIN]), int(p[K.P_W_WIN]), int(p[K.P_W_HOLD])
    t_win, search = int(p[K.P_ONSET_WIN]), int(p[K.P_SEARCH])
    settle = int(p[K.P_SETTLE])
    pot_r2 = p[K.P_POTENTIAL] ** 2
    l_max = tmpl.shape[1]
    least = p[K.P_FLOOR_MIN] ** 2
    ypad = np.vstack([np.zeros((l_max - 1, nch)), y])  # ypad[a + m, c] = y[a - (l_max - 1 - m), c]
    shapes = [(np.zeros(0) if v is None else np.asarray(v, dtype=float), p[share], key)
              for v, share, key in ((spk, K.P_SPIKE, "b_spike"), (stp, K.P_STEP, "b_step"))]
    shapes = [(v, share, key) for v, share, key in shapes if share > 0 and len(v)]
    shape_back = max(l_max, e_win)  # windows from this many samples before a burst's first one
    records = []
    epochs = []
    chans = []
    for c in range(nch):
        chans.append(
            dict(floor=floor0[c], quiet=[], in_burst=False, on=0, last=0, strong=0, bfloor=0.0, wasm=False,
                 w_on=0, w_floor=0.0, qstart=-1, admit_rate=1.0 if known is None or known[c] else K.FRESH_SHARE,
                 stale=not (known is None or known[c]), gate=-1, acf_n=ring_len if known is None or known[c] else 0,
                 acf=np.array(acf0[c], dtype=float), acf_blk=np.zeros(l_max), pt_n=0,
                 pt_noise=np.maximum(tmpl[1].T @ acf0[c], least), art0=-1, b_spike=0.0, b_step=0.0)
        )
    stuck = np.array([_stuck_samples(x[:, c], int(p[K.P_SAT_RUN])) for c in range(nch)]).T
    prev_flags = [0] * nch
    signal_loss = K.FLAG_FLAT | K.FLAG_SATURATION | K.FLAG_DC_JUMP
    wm = p[K.P_MAINS_W]
    for a in range(n):
        for c in range(nch):
            st = chans[c]
            floor = st["floor"]
            e2 = env2[a, c]
            # lag products of the background, sampled (every sample while a floor that started again learns)
            stride = 1 if st["quiet"] and st["acf_n"] < K.ACF_MIN_BLOCKS else K.POTENTIAL_STRIDE
            if pot_r2 > 0 and a % stride == 0:
                st["acf_blk"] += y[a, c] * ypad[a : a + l_max, c]
                st["pt_n"] += 1
            if not st["in_burst"]:
                if max(e2, envt2[a, c]) >= (onset_r * floor) ** 2 and a >= settle:
                    thr = onset_r * floor
                    core = a
                    for k in range(e_win - 1, 0, -1):
                        if a - k >= 0 and abs(y[a - k, c]) >= thr:
                            core = a - k
                            break
                    n_back = max(0, min(search - 1 - (a - core), core - st["last"] - 1, core - settle))
                    on = core - n_back + change_point(y[core - n_back : core + 1, c], (p[K.P_CUSUM] * floor) ** 2)
                    st.update(in_burst=True, on=on, last=a, strong=a, bfloor=floor, noise=False, b_spike=0.0,
                              b_step=0.0, art0=a,
                              end=a - (t_win if envt2[a, c] >= (onset_r * floor) ** 2 else e_win) + 2,
                              y2=float(np.sum(y[on : a + 1, c] ** 2)), pt_len=0, pt_score=0.0,
                              pt_until=a + l_max if pot_r2 > 0 else -1, pt_min=max(st["last"] + 1, settle))
                elif pot_r2 > 0 and a >= settle and st["acf_n"] >= K.ACF_MIN_BLOCKS:
                    if e2 >= (K.POTENTIAL_GATE * floor) ** 2:
                        st["gate"] = a + l_max
                    score = corr[a, c] ** 2 / st["pt_noise"]
                    if a <= st["gate"] and score.max() >= pot_r2:  # a template matches a potential
                        j = int(np.argmax(score))
                        on = max(a - tlen[j, 0] + 1, st["last"] + 1, settle)
                        st.update(in_burst=True, on=on, last=a, strong=a, bfloor=floor, noise=False, b_spike=0.0,
                                  b_step=0.0, art0=a,
                                  end=max(on + tlen[j, 1], on + 1), y2=float(np.sum(y[on : a + 1, c] ** 2)), pt_len=0,
                                  pt_until=-1)
            else:
                y2 = st["y2"] + y[a, c] ** 2  # sum of squares from the onset to this sample
                burst_ms = y2 / (a - st["on"] + 1)
                active = e2 >= (offset_r * st["bfloor"]) ** 2 or (
                    e2 >= (p[K.P_SUSTAIN] * st["bfloor"]) ** 2 and e2 >= p[K.P_SUSTAIN_REL] ** 2 * burst_ms
                )
                dip = a - st["last"]
                if bridging and active and dip > hold:
                    # activity back after a long dip: the gap since the last sample above the
                    # onset level joins it to the burst only if the gap itself held activity
                    gap_ms = np.mean(y[st["strong"] + 1 : a, c] ** 2)
                    burst_rms2 = np.mean(y[st["on"] : st["strong"] + 1, c] ** 2)
                    if gap_ms < (p[K.P_BRIDGE] * st["bfloor"]) ** 2 or gap_ms < p[K.P_SUSTAIN_REL] ** 2 * burst_rms2:
                        records.append(_burst_record(st, c, y, p))
                        st["in_burst"] = False
                if st["in_burst"]:
                    level2 = (onset_r * st["bfloor"]) ** 2
                    for win2, win in ((e2, e_win), (envt2[a, c], t_win)):
                        if win2 >= level2:  # a window above the onset level: activity up to its oldest sample
                            st["strong"] = a
                            st["end"] = max(st["end"], a - win + 2)
                    st["y2"] = y2
                    if active:
                        st["last"] = a
                    elif dip >= (bridge_max if bridging else hold):
                        records.append(_burst_record(st, c, y, p))
                        st["in_burst"] = False
            if st["in_burst"]:  # how much of its start one spike's or step's shape explains, once its windows are in
                for v, share, key in shapes:
                    if a == st["art0"] + len(v) + len(v) // 2 - 1:
                        st[key] = shape_energy(y[:, c], st["art0"], v, shape_back, share)
            if st["in_burst"] and a <= st["pt_until"]:  # the best template over the burst's first L_max samples
                score = corr[a, c] ** 2 / st["pt_noise"]
                j = int(np.argmax(score))
                if score[j] >= pot_r2 and score[j] > st["pt_score"]:
                    st.update(pt_score=score[j], pt_on=max(a - tlen[j, 0] + 1, st["pt_min"]), pt_len=tlen[j, 1])
            ew2 = envw2[a, c]
            if not st["wasm"]:
                if ew2 >= (floor + p[K.P_W_ON_UV]) ** 2 and a >= settle:
                    st.update(wasm=True, w_on=a, qstart=-1, w_floor=floor)
            else:
                if ew2 < (st["w_floor"] + p[K.P_W_OFF_UV]) ** 2:
                    if st["qstart"] < 0:
                        st["qstart"] = a
                    elif a - st["qstart"] + 1 >= w_hold:
                        on, q = st["w_on"], st["qstart"]
                        off = max(on + 1, q - w_win + 1)
                        seg = y[on:q, c]
                        records.append((K.OUT_LM, c, on, off, float(np.max(np.abs(seg))), float(np.sqrt(np.mean(seg**2))), st["w_floor"]))
                        st["wasm"] = False
                else:
                    st["qstart"] = -1
            if (a + 1) % block == 0:
                seg_y = y[a + 1 - block : a + 1, c]
                seg_lo = lo[a + 1 - block : a + 1, c]
                rms_y = math.sqrt(np.sum(seg_y**2) / block)
                rms_lo = math.sqrt(np.sum(seg_lo**2) / block)
                moving = rms_lo > p[K.P_MOVE_RATIO] * rms_y and rms_lo > p[K.P_MOVE_MIN]
                # a floor that starts again has no level to judge its first block by (one partly flat would pass)
                quiet = rms_y < p[K.P_ADMIT] * floor and not (st["stale"] and not st["quiet"])
                usable = rms_y >= p[K.P_FLAT] and not moving and a >= settle
                if rms_y < p[K.P_FLAT] and a >= settle:  # no signal: the floor starts again, as after a flat warm-up
                    st["stale"], st["admit_rate"], st["quiet"], st["acf_n"] = True, K.FRESH_SHARE, [], 0
                if usable:  # moving share of quiet blocks, falling to 5 % over floor_stale_s without one
                    decay = min(1.0, 3.0 * block / max(p[K.P_STALE], 1.0))
                    st["admit_rate"] += decay * ((1.0 if quiet else 0.0) - st["admit_rate"])
                    if not st["stale"] and st["admit_rate"] < K.STALE_SHARE:
                        st["stale"] = True
                    elif st["stale"] and st["admit_rate"] > K.FRESH_SHARE:
                        st["stale"] = False
                if usable and (quiet or st["stale"]):
                    lesson = st["stale"] and not st["quiet"]  # a floor's first block after it started again may be partly flat
                    st["quiet"].append(rms_y)
                    st["quiet"] = st["quiet"][-ring_len:]
                    st["floor"] = max(float(np.quantile(st["quiet"], p[K.P_QUANT])), p[K.P_FLOOR_MIN])
                    if pot_r2 > 0 and st["pt_n"] > 0 and not lesson:  # autocorrelation: a moving average of quiet blocks
                        st["acf_n"] = min(st["acf_n"] + 1, ring_len)  # (after the floor started again: the mean of its blocks)
                        st["acf"] += (st["acf_blk"] / st["pt_n"] - st["acf"]) / st["acf_n"]
                        st["pt_noise"] = np.maximum(tmpl[1].T @ st["acf"], least)  # each template's noise
                    # an open burst or movement is measured against a higher new floor; a burst that is
                    # the noise's rise follows the floor as long as that rises, also once it is fresh again
                    if st["in_burst"] and st["floor"] > st["bfloor"] and (st["stale"] or st["noise"]):
                        st["bfloor"], st["noise"] = st["floor"], True  # the noise rose: not activity
                    if st["stale"] and st["wasm"]:
                        st["w_floor"] = max(st["w_floor"], st["floor"])
                st["acf_blk"][:] = 0.0
                st["pt_n"] = 0
        if (a + 1) % epoch == 0:
            e0 = a + 1 - epoch
            flags = []
            for c in range(nch):
                f = _epoch_flags(_stuck_at_rails(stuck[e0 : a + 1, c], x[e0 : a + 1, c]), _held_to(x[:, c], a) >= p[K.P_SAT_RUN],
                                 y[e0 : a + 1, c], lo[e0 : a + 1, c], e0, wm, p, chans[c]["floor"])
                if e0 < settle:
                    f |= K.FLAG_SETTLING
                elif f == 0 and prev_flags[c] & signal_loss:
                    f = K.FLAG_SETTLING  # the filters ring when the signal comes back
                prev_flags[c] = f
                flags.append(f)
            epochs.append((a // epoch, flags, [chans[c]["floor"] for c in range(nch)]))
    return records, epochs


def change_point(seg, level2):
    """Index in ``seg`` where activity starts: just after the last minimum of the
    cumulative sum of ``seg**2 - level2`` (0 when the minimum is before the first sample)."""
    csum = np.concatenate([[0.0], np.cumsum(seg**2 - level2)])
    return min(int(len(csum) - 1 - np.argmin(csum[::-1])), len(seg) - 1)


def shape_energy(y, a0, shape, back, share):
    """The energy ``(w . shape)**2 / W**2`` of the artefact whose response starts ``shape``
    (``W`` = the sum of its squares), over the windows ``w`` of ``len(shape)`` samples of ``y``
    (zeros before its start) starting from ``a0 - back`` to ``a0`` that it explains at least
    ``share`` of: ``(w . shape)**2 / W`` at least ``share`` times the energy of the window widened
    by ``len(shape) // 2`` samples on each side; the largest (0 when there is none)."""
    m, big_w = len(shape) // 2, float(np.sum(shape**2))
    best = 0.0
    for s in range(a0 - back, a0 + 1):
        w = np.array([y[i] if i >= 0 else 0.0 for i in range(s - m, s + len(shape) + m)])
        c2 = float(np.dot(w[m : m + len(shape)], shape)) ** 2
        if c2 / big_w >= share * float(np.dot(w, w)):
            best = max(best, c2 / big_w**2)
    return best


def _burst_record(st, c, y, p):
    on, strong = st["on"], st["strong"]
    off = max(on + 1, st["end"])
    seg = y[on : strong + 1, c]
    kind = K.OUT_NOISE if st["noise"] else K.OUT_BURST
    if st["pt_len"] > off - on:  # briefer than the potential of the best template in its first samples
        on, off = st["pt_on"], st["pt_on"] + st["pt_len"]
    b_y2 = float(np.sum(seg**2))
    # a brief burst that one spike's or one offset step's filtered shape explains is that
    # artefact (the one that explains more, when both do)
    if kind == K.OUT_BURST and off - on < p[K.P_SPIKE_MAX]:
        spike = p[K.P_SPIKE] > 0 and st["b_spike"] > 0 and st["b_spike"] >= p[K.P_SPIKE] * b_y2
        step = p[K.P_STEP] > 0 and st["b_step"] > 0 and st["b_step"] >= p[K.P_STEP] * b_y2
        if spike and (not step or st["b_spike"] >= st["b_step"]):
            kind = K.OUT_SPIKE
        elif step:
            kind = K.OUT_STEP
    return (kind, c, on, off, float(np.max(np.abs(seg))), float(np.sqrt(np.mean(seg**2))), st["bfloor"])


def _stuck_samples(x, run_min):
    """Per sample, how many samples it adds to the stuck count (runs of identical values).

    The sample that completes a run of ``run_min`` adds the whole run; later ones add one.
    """
    out = np.zeros(len(x), dtype=np.int64)
    run = 0
    for i in range(len(x)):
        run = run + 1 if i > 0 and x[i] == x[i - 1] else 1
        if run == run_min:
            out[i] = run_min
        elif run > run_min:
            out[i] = 1
    return out


def _stuck_at_rails(stuck, x):
    """Stuck samples of an epoch whose value is the epoch's highest or lowest."""
    at_rail = (x == x.max()) | (x == x.min())
    return int(stuck[at_rail].sum())


def _held_to(x, a):
    """How many samples up to and including ``a`` hold the value of ``x[a]`` in a row."""
    k = a
    while k > 0 and x[k - 1] == x[a]:
        k -= 1
    return a - k + 1


def _epoch_flags(stuck, held, y, lo, a0, wm, p, floor):
    n = len(y)
    rms_y = math.sqrt(np.mean(y**2))
    rms_lo = math.sqrt(np.mean(lo**2))
    flags = 0
    if rms_y < p[K.P_FLAT]:
        flags |= K.FLAG_FLAT
    elif stuck > p[K.P_SAT_FRAC] * n:
        flags |= K.FLAG_SATURATION
    elif held:  # the raw value held up to the epoch's end: the electrode let go
        flags |= K.FLAG_FLAT
    if np.max(np.abs(lo)) > p[K.P_DCJUMP]:
        flags |= K.FLAG_DC_JUMP
    elif rms_lo > p[K.P_MOVE_RATIO] * rms_y and rms_lo > p[K.P_MOVE_MIN]:
        flags |= K.FLAG_MOVEMENT
    if wm > 0:
        t = np.arange(a0, a0 + n)
        re = np.sum(y * np.cos(wm * t))
        im = np.sum(y * np.sin(wm * t))
        amp = 2.0 * math.hypot(re, im) / n
        if amp > p[K.P_MAINS_RATIO] * floor and 0.5 * amp * amp > 0.5 * rms_y**2:
            flags |= K.FLAG_MAINS
    return flags
