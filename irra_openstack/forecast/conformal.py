"""Split-conformal prediction intervals, per series and per horizon step.

A forecaster makes point forecasts from many past *origins* of a series'
recent history (a rolling-origin back-test, see
:meth:`irra_openstack.forecast.base.Forecaster.fit`). For series ``s`` and
horizon step ``h`` (0-based: ``h = 0`` is the first step after the origin)
this gives signed residuals

    r_i = y[o_i + h] - yhat(o_i, h),    i = 1 .. n

where ``yhat(o, h)`` only uses data before ``o``. If the residual of the
next forecast is exchangeable with these ``n``, split conformal prediction
gives, for ``alpha = 1 - level``, the interval

    [yhat + r_(k_lo), yhat + r_(k_hi)]

where ``r_(k)`` is the k-th smallest residual and

    k_hi = ceil((n + 1) * (1 - alpha / 2)),
    k_lo = floor((n + 1) * alpha / 2).

Each one-sided bound misses with probability at most ``alpha / 2``, so the
interval covers with probability at least ``1 - alpha`` (and, without ties,
less than ``1 - alpha + 2 / (n + 1)``). The ``+ 1`` is the finite-sample
correction; it needs ``k_lo >= 1``, that is ``n >= 2 / alpha - 1`` residuals
(19 at 90 %).

*Signed, not absolute, residuals.* The errors of resource usage are skewed:
CPU bursts far above its forecast but cannot fall far below zero. Two
one-sided quantiles give an upper bound that follows the bursts without
widening the lower side to match, and the upper bound is what capacity
planning uses. The price is twice as many residuals for the same level.
The bounds are widened where needed so that ``lower <= point <= upper``
(``r_(k_lo)`` is capped at 0 and ``r_(k_hi)`` raised to 0); this can only
raise coverage.

*Pooled fallback.* A series with fewer than ``min_residuals`` finite
residuals at a horizon step (new or patchy series) borrows the interval of
all series: every residual is divided by its series' scale (the mean
absolute one-step change, see :func:`series_scale`), the same finite-sample
quantiles are taken over all series' scaled residuals at that step, and the
result is multiplied back by the series' own scale. If even the pool is too
small for the corrected ranks, its smallest and largest residuals are used
(and the series are flagged ``under_calibrated``); a horizon step without
any residual takes the quantiles of the nearest shorter step that has some.

*Adaptive updates (ACI).* Exchangeability fails when the workload
drifts: after a rise in variance, the residuals of last week are too
small. :meth:`ConformalCalibrator.update` takes the actual values of a
past forecast and does two things, per series ``s`` and horizon step
``h``:

1. an adaptive conformal inference step (Gibbs and Candes, 2021) on each
   side: with ``miss`` = 1 when the actual fell below the lower bound
   (resp. above the upper bound),

       a_lo[s, h] += gamma * (alpha / 2 - miss_lo)
       a_hi[s, h] += gamma * (alpha / 2 - miss_hi)

   and the ranks become ``k_lo = floor((n + 1) * a_lo)`` and ``k_hi =
   ceil((n + 1) * (1 - a_hi))`` (clipped to ``1 .. n``; the nominal
   ``a = alpha / 2`` gives the ranks above). A side that misses more often
   than ``alpha / 2`` widens until it does not; one that never misses
   slowly narrows. Over any run of ``N`` updates the miss rate of a side is
   within ``(max|a| + gamma) / (gamma N)`` of ``alpha / 2``, whatever the
   data do.
2. the new residuals ``actual - point`` replace the oldest ones (a ring
   buffer per series), so the residual distribution itself follows the
   drift too.

``gamma`` (:data:`ACI_GAMMA` by default) trades the speed of adaptation
against the jitter of the bounds. The per-series base rate is
:attr:`ConformalCalibrator.alpha` (it can also be set by hand before
:meth:`ConformalCalibrator.update_quantiles`).
"""

import numpy as np

#: Default minimum number of residuals a series needs at a horizon step to
#: get its own interval instead of the pooled one.
MIN_RESIDUALS = 30

#: Default step of the adaptive (ACI) update of the interval levels.
ACI_GAMMA = 0.01

# Guards the rank computations against rounding, e.g. 20 * 0.95.
_EPS = 1e-9


def ranks(n, alpha):
    """The 1-based ranks ``(k_lo, k_hi)`` of the corrected quantiles.

    :param n: int array, the number of residuals.
    :param alpha: float array broadcastable to ``n``, the miscoverage.
    :returns: two int arrays; the quantiles are defined where
        ``k_lo >= 1`` (then ``k_hi <= n`` too).
    """
    n = np.asarray(n, dtype=np.float64)
    alpha = np.asarray(alpha, dtype=np.float64)
    k_hi = np.ceil((n + 1.0) * (1.0 - alpha / 2.0) - _EPS)
    k_lo = np.floor((n + 1.0) * alpha / 2.0 + _EPS)
    return k_lo.astype(np.int64), k_hi.astype(np.int64)


def series_scale(history):
    """Per-series scale of ``history`` (series, T), for pooling residuals.

    The scale is the mean absolute change between consecutive finite
    steps (the in-sample error of the naive one-step forecast, as in MASE).
    A series without two consecutive finite values gets the median ratio
    of scale to mean absolute level of the other series, times its own
    mean absolute level; a series without any finite value gets 0.

    :returns: float array (series,), finite and non-negative.
    """
    history = np.asarray(history, dtype=np.float64)
    with np.errstate(invalid='ignore', over='ignore'):
        diff = np.abs(np.diff(history, axis=1))
        diff[~np.isfinite(diff)] = np.nan
        n_diff = np.sum(~np.isnan(diff), axis=1)
        scale = np.where(n_diff > 0,
                         np.nansum(diff, axis=1) / np.maximum(n_diff, 1),
                         np.nan)
        absval = np.abs(np.where(np.isfinite(history), history, np.nan))
        n_val = np.sum(~np.isnan(absval), axis=1)
        level = np.where(n_val > 0,
                         np.nansum(absval, axis=1) / np.maximum(n_val, 1),
                         np.nan)
        rel = scale / level
    rel = rel[np.isfinite(rel)]
    ratio = float(np.median(rel)) if rel.size else 0.0
    missing = ~np.isfinite(scale)
    scale[missing] = ratio * level[missing]
    scale[~np.isfinite(scale)] = 0.0
    return scale


def _quantiles_sorted(sorted_res, n, k_lo, k_hi):
    """Pick ranks ``k_lo``, ``k_hi`` (1-based) along axis 1 of sorted_res.

    ``sorted_res`` is (A, N, H) with NaN last along axis 1; ``n``,
    ``k_lo`` and ``k_hi`` are (A, H). Ranks are clipped into the finite
    part; where ``n == 0`` the result is NaN.
    """
    big_n = sorted_res.shape[1]
    if big_n == 0:
        nan = np.full(n.shape, np.nan)
        return nan, nan.copy()
    top = np.maximum(n - 1, 0)
    lo_idx = np.clip(k_lo - 1, 0, top)
    hi_idx = np.clip(k_hi - 1, 0, top)
    q_lo = np.take_along_axis(sorted_res, lo_idx[:, None, :], axis=1)[:, 0]
    q_hi = np.take_along_axis(sorted_res, hi_idx[:, None, :], axis=1)[:, 0]
    empty = n == 0
    q_lo = np.where(empty, np.nan, q_lo)
    q_hi = np.where(empty, np.nan, q_hi)
    return q_lo, q_hi


def _fill_along_h(q):
    """Fill NaN entries of (H,) from the nearest earlier finite entry.

    Entries before the first finite one become the first finite one; an
    all-NaN input becomes zeros.
    """
    finite = np.isfinite(q)
    if not finite.any():
        return np.zeros_like(q)
    idx = np.where(finite, np.arange(q.size), -1)
    idx = np.maximum.accumulate(idx)
    idx[idx < 0] = np.flatnonzero(finite)[0]
    return q[idx]


class ConformalCalibrator(object):
    """Interval half-widths for each series and horizon step.

    :param level: the nominal coverage, in (0, 1).
    :param min_residuals: fewest residuals a series needs at a horizon
        step for its own quantiles; below this it gets the pooled ones. It
        is raised to what the finite-sample ranks need at ``level``.

    After :meth:`calibrate`, :attr:`q_lo` (<= 0) and :attr:`q_hi` (>= 0)
    are float arrays (series, horizon) to add to a point forecast, and
    :attr:`pooled` and :attr:`under_calibrated` (series,) say which series
    had to borrow from the pool, or even the pool had too few residuals.
    """

    def __init__(self, level, min_residuals=MIN_RESIDUALS):
        self.level = float(level)
        base_alpha = 1.0 - self.level
        needed = int(np.ceil(2.0 / base_alpha - 1.0 - _EPS))
        self.min_residuals = max(int(min_residuals), needed, 1)
        #: Step of the ACI update, see :meth:`update`.
        self.gamma = ACI_GAMMA
        #: ACI offsets of the lower and upper miss rates (series, horizon).
        self.adjust_lo = None
        self.adjust_hi = None
        self._buffer = None
        self._next = 0
        self.alpha = None
        self.sorted_residuals = None
        self.scale = None
        self.q_lo = None
        self.q_hi = None
        self.pooled = None
        self.under_calibrated = None

    @property
    def calibrated(self):
        return self.q_lo is not None

    @property
    def n_series(self):
        return None if self.q_lo is None else self.q_lo.shape[0]

    def calibrate(self, residuals, scale):
        """Calibrate on signed residuals.

        :param residuals: float array (series, origins, horizon) of
            ``actual - forecast``; NaN where there is none (a missing
            actual, or an origin too close to the end of the history).
        :param scale: float array (series,), see :func:`series_scale`.
        :returns: self.
        """
        residuals = np.asarray(residuals, dtype=np.float64)
        if residuals.ndim != 3:
            raise ValueError("residuals must be (series, origins, horizon)")
        residuals = np.where(np.isfinite(residuals), residuals, np.nan)
        n_series, n_orig, horizon = residuals.shape
        # The ring buffer of residuals for :meth:`update`, oldest first;
        # room for at least 2 * min_residuals, the spare slots filled
        # first.
        capacity = max(n_orig, 2 * self.min_residuals)
        self._buffer = np.full((n_series, capacity, horizon), np.nan)
        self._buffer[:, :n_orig] = residuals
        self._next = n_orig % capacity
        # np.sort puts NaN last: the finite part of each (s, h) is a prefix.
        self.sorted_residuals = np.sort(residuals, axis=1)
        self.scale = np.asarray(scale, dtype=np.float64)
        self.alpha = np.full(n_series, 1.0 - self.level)
        self.adjust_lo = np.zeros((n_series, horizon))
        self.adjust_hi = np.zeros((n_series, horizon))
        self.update_quantiles()
        return self

    def update(self, actuals, point, lower, upper):
        """Adapt to the actual values of one past forecast (ACI).

        :param actuals: float array (series, horizon), NaN where unknown.
        :param point: the point forecast they are the outcome of.
        :param lower: its lower bounds.
        :param upper: its upper bounds.
        :returns: self.

        See the module doc for the maths. Unknown actuals change nothing.
        """
        actuals = np.asarray(actuals, dtype=np.float64)
        known = np.isfinite(actuals)
        half = (1.0 - self.level) / 2.0
        with np.errstate(invalid='ignore'):
            miss_lo = (actuals < lower) & known
            miss_hi = (actuals > upper) & known
            residual = np.where(known, actuals - point, np.nan)
        self.adjust_lo += np.where(known, self.gamma * (half - miss_lo), 0.0)
        self.adjust_hi += np.where(known, self.gamma * (half - miss_hi), 0.0)
        # Keep the offsets bounded: at most a whole alpha either way, so
        # that a long calm spell cannot build a debt of narrow intervals.
        np.clip(self.adjust_lo, -half, 1.0 - half, out=self.adjust_lo)
        np.clip(self.adjust_hi, -half, 1.0 - half, out=self.adjust_hi)
        buf = self._buffer
        if buf.shape[1]:
            slot = buf[:, self._next]
            buf[:, self._next] = np.where(known, residual, slot)
            self._next = (self._next + 1) % buf.shape[1]
            self.sorted_residuals = np.sort(buf, axis=1)
        self.update_quantiles()
        return self

    def update_quantiles(self):
        """(Re)compute the quantiles from the residuals and :attr:`alpha`."""
        res = self.sorted_residuals
        n_series, _, horizon = res.shape
        n = np.sum(~np.isnan(res), axis=1)                   # (S, H)
        k_lo, k_hi = ranks(n, self.alpha[:, None])
        own = (k_lo >= 1) & (n >= self.min_residuals)
        if self.adjust_lo is not None and self.adjust_lo.shape == n.shape:
            # ACI: the adapted miss rate of each side.
            a_lo = self.alpha[:, None] / 2.0 + self.adjust_lo
            a_hi = self.alpha[:, None] / 2.0 + self.adjust_hi
            nf = n.astype(np.float64)
            k_lo = np.floor((nf + 1.0) * a_lo + _EPS).astype(np.int64)
            k_hi = np.ceil((nf + 1.0) * (1.0 - a_hi) - _EPS).astype(
                np.int64)
            k_lo = np.clip(k_lo, 1, np.maximum(n, 1))
            k_hi = np.clip(k_hi, 1, np.maximum(n, 1))
        q_lo, q_hi = _quantiles_sorted(res, n, k_lo, k_hi)

        need = ~own
        self.pooled = need.any(axis=1)
        self.under_calibrated = np.zeros(n_series, dtype=bool)
        if need.any():
            z_lo, z_hi, short = self._pooled()
            scale = self.scale[:, None]
            q_lo = np.where(need, z_lo[None, :] * scale, q_lo)
            q_hi = np.where(need, z_hi[None, :] * scale, q_hi)
            self.under_calibrated = (need & short[None, :]).any(axis=1)
        q_lo = np.where(np.isfinite(q_lo), q_lo, 0.0)
        q_hi = np.where(np.isfinite(q_hi), q_hi, 0.0)
        self.q_lo = np.minimum(q_lo, 0.0)
        self.q_hi = np.maximum(q_hi, 0.0)
        return self

    def _pooled(self):
        """Quantiles over all series' scaled residuals, per horizon step.

        :returns: ``(z_lo, z_hi, short)``, arrays (H,); ``short`` marks
            steps where the pool was too small for the corrected ranks.
        """
        res = self.sorted_residuals
        n_series, n_orig, horizon = res.shape
        ok = np.isfinite(self.scale) & (self.scale > 0)
        with np.errstate(invalid='ignore', divide='ignore', over='ignore'):
            z = res[ok] / self.scale[ok][:, None, None]
        z = np.where(np.isfinite(z), z, np.nan)
        z = np.sort(z.reshape(1, -1, horizon), axis=1)
        n = np.sum(~np.isnan(z), axis=1)                     # (1, H)
        k_lo, k_hi = ranks(n, 1.0 - self.level)
        short = (k_lo < 1)[0]
        z_lo, z_hi = _quantiles_sorted(z, n, k_lo, k_hi)
        return _fill_along_h(z_lo[0]), _fill_along_h(z_hi[0]), short

    def interval(self, point):
        """``(lower, upper)`` for point forecasts (series, horizon)."""
        with np.errstate(over='ignore', invalid='ignore'):
            return point + self.q_lo, point + self.q_hi
