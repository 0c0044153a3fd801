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

    def interval(self, point, w_lo=None, w_hi=None):
        """``(lower, upper)`` for point forecasts (series, horizon).

        ``w_lo`` and ``w_hi`` (a model's band) are ignored: the
        half-widths here are per series and step.
        """
        with np.errstate(over='ignore', invalid='ignore'):
            return point + self.q_lo, point + self.q_hi


#: Most an ACI update may lower a side's miss rate, relative to its
#: nominal one (see :meth:`NormalisedCalibrator.update`).
ACI_SHRINK = 0.5
#: Most order statistics kept per horizon step of a pooled score
#: distribution (evenly spaced ranks; enough for quantile levels to
#: about 1e-3).
POOL_GRID = 4001
#: Smallest band half-width, relative to the largest of the two sides of
#: the same row, so that a row whose model band collapses on one side
#: still gets a usable scale on it.
MIN_SIDE = 0.1


def band_halfwidths(point, lower, upper, floor):
    """Per-side band half-widths ``(w_lo, w_hi)`` for normalised scores.

    ``w_lo = point - lower`` and ``w_hi = upper - point``, each raised to
    at least ``MIN_SIDE`` times the other side and to ``floor`` (an array
    broadcastable to ``point``, e.g. a small fraction of the series'
    scale), so that every score ``r / w`` is finite.
    """
    with np.errstate(invalid='ignore'):
        w_lo = np.maximum(point - lower, 0.0)
        w_hi = np.maximum(upper - point, 0.0)
        w_lo, w_hi = (np.maximum(w_lo, MIN_SIDE * w_hi),
                      np.maximum(w_hi, MIN_SIDE * w_lo))
        w_lo = np.maximum(w_lo, floor)
        w_hi = np.maximum(w_hi, floor)
    return w_lo, w_hi


class NormalisedCalibrator(object):
    """Conformal bounds scaled by a per-row band: CQR-style intervals.

    The model gives, for every forecast (series ``s``, origin ``o``, step
    ``h``), besides the point ``yhat`` a *band*: half-widths ``w_lo`` and
    ``w_hi`` (> 0) below and above it, for example from the gradient
    boosting's own quantile models (``w_hi = q_hi - median``), which widen
    in bursty spells and narrow in calm ones. The conformity scores of the
    back-test residuals ``r = y - yhat`` are, per side,

        e_hi = r / w_hi,      e_lo = -r / w_lo,

    and, with ``E_hi(h)`` the ``k_hi = ceil((n + 1) (1 - alpha / 2))``-th
    smallest of the ``n`` scores ``e_hi`` of step ``h`` pooled over all
    series (the scores are scale-free, so series of any size pool), the
    interval is

        [yhat - E_lo(h) w_lo,  yhat + E_hi(h) w_hi].

    Each side misses with probability at most ``alpha / 2`` when the new
    score is exchangeable with the calibration ones, so it covers at least
    ``1 - alpha`` marginally; unlike a constant half-width, the interval
    follows the band row by row, so it is narrow where the model is sure.
    With the model's own median and quantiles, ``E = 1`` gives back the
    raw quantiles: the calibration stretches (or shrinks) the raw band by
    the factor that makes it cover (conformalised quantile regression in
    its multiplicative form, Romano et al. 2019; Sesia and Candes 2020).

    *Where to miss.* Nothing forces the ``alpha`` of misses to split
    evenly between the sides. Usage errors are skewed: bursts put a long
    tail above the band, and covering the last few per cent of that tail
    costs far more width than the same share below the point (where,
    besides, the bounds of a small series stop at the floor, zero for a
    usage). So per step ``h`` the lower side gets the miss rate
    ``beta(h)`` and the upper ``alpha - beta(h)``, with ``beta(h)`` the
    value of the grid ``alpha * (1 .. 19) / 20`` whose bounds have the
    smallest mean width over the calibration rows (floor included). The
    coverage guarantee holds for any split; picking it on the same scores
    costs a little optimism for a small pool, which the ACI updates
    absorb.

    *Adaptive updates (ACI)*, as in :class:`ConformalCalibrator`, on the
    miss rate of each side, and the side's quantile is read at level
    ``1 - a`` of the pooled scores of step ``h``. By default
    (``aci_scope='pooled'``) there is one offset per step and side for
    all series, driven by their mean miss,
    ``a[h] += gamma (beta(h) - mean_s miss[s, h])``: it keeps the
    coverage over all series at the nominal level through drift. The
    offsets move the level within the calibration scores, so the
    bounds can widen at most to the largest of them: a drift beyond that
    needs a refit (the scheduled retraining).
    ``aci_scope='series'`` gives each series its own offset; that also
    corrects a series whose band is too narrow, but series that
    cannot miss (a lower bound at the floor under a usage that is never
    below it) never give their share of misses back, so the coverage
    over all series drifts above nominal: on real traces about one
    point.

    The pooled scores of a step are kept as at most :data:`POOL_GRID`
    evenly spaced order statistics.
    """

    def __init__(self, level, min_residuals=MIN_RESIDUALS,
                 aci_scope='pooled'):
        self.level = float(level)
        base_alpha = 1.0 - self.level
        needed = int(np.ceil(2.0 / base_alpha - 1.0 - _EPS))
        self.min_residuals = max(int(min_residuals), needed, 1)
        if aci_scope not in ('pooled', 'series'):
            raise ValueError('aci_scope is pooled or series')
        self.aci_scope = aci_scope
        self.gamma = ACI_GAMMA
        self.adjust_lo = None
        self.adjust_hi = None
        self.alpha = None
        self.grid_lo = None      # (H, G) sorted scores, or (H, 0)
        self.grid_hi = None
        self.n_scores = None     # (H,)
        self.e_lo = None         # (S, H) current factors
        self.e_hi = None
        self.pooled = None
        self.under_calibrated = None

    @property
    def calibrated(self):
        return self.e_lo is not None

    @property
    def n_series(self):
        return None if self.e_lo is None else self.e_lo.shape[0]

    #: Candidate lower shares of the miss rate (times alpha).
    SPLITS = np.arange(1, 20) / 20.0

    def calibrate(self, residuals, w_lo, w_hi, point=None, floor=None):
        """Calibrate on residuals (S, n, H) and the bands of their rows.

        :param residuals: ``actual - point``, NaN where unknown.
        :param w_lo, w_hi: band half-widths of the same rows, > 0.
        :param point: the point forecasts of the rows, to choose the
            split of the misses between the sides by the width of the
            bounds (with ``floor``); without it, the misses split evenly.
        :param floor: the least value of a bound, or None.
        :returns: self.
        """
        residuals = np.asarray(residuals, dtype=np.float64)
        if residuals.ndim != 3:
            raise ValueError("residuals must be (series, origins, horizon)")
        n_series, _, horizon = residuals.shape
        with np.errstate(invalid='ignore', divide='ignore', over='ignore'):
            e_hi = residuals / w_hi
            e_lo = -residuals / w_lo
        self.grid_lo, n_lo = self._grid(e_lo)
        self.grid_hi, n_hi = self._grid(e_hi)
        self.n_scores = np.minimum(n_lo, n_hi)
        self.alpha = np.full(n_series, 1.0 - self.level)
        self.split = np.full(horizon, 0.5)
        if point is not None:
            self.split = self._best_split(residuals, w_lo, w_hi,
                                          np.asarray(point, float), floor)
        self.adjust_lo = np.zeros((n_series, horizon))
        self.adjust_hi = np.zeros((n_series, horizon))
        self.pooled = np.zeros(n_series, dtype=bool)
        short = self.n_scores < self.min_residuals
        self.under_calibrated = np.full(n_series, bool(short.all()))
        self.update_quantiles()
        return self

    @staticmethod
    def _grid(scores):
        """Sorted finite scores per step, thinned to POOL_GRID, and n."""
        horizon = scores.shape[2]
        flat = np.moveaxis(scores, 2, 0).reshape(horizon, -1)
        flat = np.where(np.isfinite(flat), flat, np.nan)
        flat = np.sort(flat, axis=1)                 # NaN last
        n = np.sum(~np.isnan(flat), axis=1)
        # A step without any score borrows the nearest earlier one.
        n_fill = n.copy()
        if (n == 0).any() and (n > 0).any():
            idx = np.where(n > 0, np.arange(horizon), -1)
            idx = np.maximum.accumulate(idx)
            idx[idx < 0] = np.flatnonzero(n > 0)[0]
            flat = flat[idx]
            n_fill = n[idx]
        size = int(min(POOL_GRID, max(int(n_fill.max(initial=0)), 1)))
        # Quantile levels (k / (n + 1), k = 1..n) are kept by taking
        # evenly spaced ranks of every step.
        pos = (np.arange(size) + 1.0) / (size + 1.0)
        ranks_ = np.floor(pos[None, :] * (n_fill[:, None] + 1.0) - _EPS)
        ranks_ = np.clip(ranks_, 1, np.maximum(n_fill, 1)[:, None])
        grid = np.take_along_axis(flat, ranks_.astype(np.int64) - 1,
                                  axis=1)
        grid = np.where(n_fill[:, None] > 0, grid, np.nan)
        return grid, n_fill

    def _pick(self, grid, level):
        """Score quantile at ``level`` (S, H) from grid (H, G).

        The finite-sample rank ``ceil((n + 1) level)`` of the pool, read
        on the grid; above the largest score the largest one is used (and
        the interval can then under-cover, flagged by
        :attr:`under_calibrated` for a small pool).
        """
        size = grid.shape[1]
        pos = np.ceil((size + 1.0) * level - _EPS).astype(np.int64)
        pos = np.clip(pos, 1, size) - 1
        return grid[np.arange(grid.shape[0])[None, :], pos]

    def _best_split(self, residuals, w_lo, w_hi, point, floor):
        """Per step, the lower share of the misses of least mean width."""
        alpha = 1.0 - self.level
        horizon = residuals.shape[2]
        known = np.isfinite(residuals) & np.isfinite(point)
        best = np.full(horizon, 0.5)
        lower_floor = -np.inf if floor is None else float(floor)
        for h in range(horizon):        # a loop over steps, not series
            ok = known[:, :, h]
            if ok.sum() < self.min_residuals:
                continue
            p, lo, hi = point[:, :, h][ok], w_lo[:, :, h][ok], \
                w_hi[:, :, h][ok]
            levels = 1.0 - alpha * self.SPLITS
            e_lo = self._pick(self.grid_lo[h:h + 1],
                              levels[:, None])[:, 0]
            e_hi = self._pick(self.grid_hi[h:h + 1],
                              (1.0 - alpha + alpha * self.SPLITS)[:, None])
            e_hi = e_hi[:, 0]
            with np.errstate(invalid='ignore', over='ignore'):
                up = np.maximum(p[None, :] + e_hi[:, None] * hi[None, :],
                                p[None, :])
                down = np.minimum(np.maximum(
                    p[None, :] - e_lo[:, None] * lo[None, :],
                    lower_floor), p[None, :])
                width = np.mean(up - down, axis=1)
            if np.isfinite(width).any():
                best[h] = self.SPLITS[int(np.nanargmin(width))]
        return best

    def _targets(self):
        """Nominal miss rates (S, H) of the lower and upper sides."""
        alpha = self.alpha[:, None]
        return alpha * self.split[None, :], alpha * (1.0 - self.split)[
            None, :]

    def update_quantiles(self):
        """Recompute the per-series factors from the ACI offsets."""
        miss_lo, miss_hi = self._targets()
        lvl_lo = np.clip(1.0 - (miss_lo + self.adjust_lo), 0.0, 1.0)
        lvl_hi = np.clip(1.0 - (miss_hi + self.adjust_hi), 0.0, 1.0)
        e_lo = self._pick(self.grid_lo, lvl_lo)
        e_hi = self._pick(self.grid_hi, lvl_hi)
        self.e_lo = np.where(np.isfinite(e_lo), e_lo, 1.0)
        self.e_hi = np.where(np.isfinite(e_hi), e_hi, 1.0)
        return self

    def update(self, actuals, point, lower, upper):
        """Adapt to the actuals of one past forecast (ACI, see above)."""
        actuals = np.asarray(actuals, dtype=np.float64)
        known = np.isfinite(actuals)
        t_lo, t_hi = self._targets()
        with np.errstate(invalid='ignore'):
            miss_lo = (actuals < lower) & known
            miss_hi = (actuals > upper) & known
        d_lo = np.where(known, t_lo - miss_lo, 0.0)
        d_hi = np.where(known, t_hi - miss_hi, 0.0)
        if self.aci_scope == 'pooled':
            # One offset per step for all series, from their mean miss.
            count = np.maximum(known.sum(axis=0), 1)
            d_lo = np.broadcast_to(d_lo.sum(axis=0) / count, d_lo.shape)
            d_hi = np.broadcast_to(d_hi.sum(axis=0) / count, d_hi.shape)
        self.adjust_lo = self.adjust_lo + self.gamma * d_lo
        self.adjust_hi = self.adjust_hi + self.gamma * d_hi
        # Per series, a side may at most halve its miss rate (the pooled
        # scores' extreme tail is no place for one series' bounds); the
        # pooled offset may go up to the largest score. Either may miss
        # up to a whole alpha more.
        shrink = ACI_SHRINK if self.aci_scope == 'series' else 1.0
        self.adjust_lo = np.clip(self.adjust_lo, -shrink * t_lo,
                                 1.0 - t_lo)
        self.adjust_hi = np.clip(self.adjust_hi, -shrink * t_hi,
                                 1.0 - t_hi)
        self.update_quantiles()
        return self

    def interval(self, point, w_lo=None, w_hi=None):
        """``(lower, upper)`` for points (S, H) and their bands (S, H)."""
        if w_lo is None or w_hi is None:
            raise ValueError('a normalised interval needs the band of '
                             'the forecast')
        e_lo, e_hi = self.e_lo, self.e_hi
        if np.ndim(point) == 3:       # (S, n, H): several origins
            e_lo, e_hi = e_lo[:, None, :], e_hi[:, None, :]
        with np.errstate(over='ignore', invalid='ignore'):
            return point - e_lo * w_lo, point + e_hi * w_hi
