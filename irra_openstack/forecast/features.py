"""Features of the learned forecasters (ridge, gbm), built for all series.

A *row* is one forecast problem ``(s, o, h)``: series ``s``, origin ``o``
(the forecast may use ``y[s, :o]`` only) and horizon step ``h`` (0-based),
whose target is ``y[s, o + h]``. Rows of many series, origins and steps are
built in one numpy pass (a loop over blocks of series bounds the memory,
never a loop per series or per step).

Every series is made scale-free at each origin. With ``last`` the latest
finite value before ``o`` and ``scale`` the mean absolute change between
consecutive steps over the last day before ``o`` (the in-sample error of
the naive forecast, floored so it is never 0), a value ``x`` enters the
model as ``(x - last) / scale``, and the target is

    z = (y[o + h] - last) / scale,   so   yhat = last + scale * zhat.

``zhat = 0`` is the naive forecast; a model only learns how the future
departs from it, in units of the series' own variability, which is what
lets one *global* model serve series of any level and amplitude.

The features of a row (NaN where the data are missing; see
:attr:`Design.names` for the order):

* ``h``: the horizon step, 1-based (only for the models that pool steps);
* lags ``y[o - k]`` for k = 2 .. 6 (``k = 1`` is ``last``);
* means over the last 3, 12, 48 steps, one day and one week, and the
  standard deviation over the last 12 steps and one day (over ``scale``);
* seasonal: with ``P`` the day in steps and ``k = h // P + 1``, the value
  one (or k) day(s) before the target ``y[o + h - kP]`` (raw and averaged
  over the 3 steps around it), the value at the origin's phase that day
  ``y[o - 1 - kP]``, the mean over up to 7 past days of both, and the value
  one week before the target;
* calendar: ``sin``/``cos`` of ``2 pi j tod`` (j = 1, 2, 3) for the time of
  day of the target, and, when the calendar is known, of the day of the
  week, and a weekend flag. When it is not (``epoch_known`` False), the
  time of day is counted from the start of the data: the phases are then
  shifted but still consistent, which is all a daily Fourier term needs;
* ``log(scale / (|last| + scale))``: how noisy the series is for its level;
* per exogenous series ``e`` (application metrics, user behaviour), scaled
  the same way with its own ``last`` and ``scale``: its deviations from its
  one-day mean at lags 0 .. 5 before the origin, and its changes over 1, 3
  and 12 steps. A leading indicator shows up here before the target moves.
"""

import numpy as np

from irra_openstack.forecast import baselines

#: One day, in seconds.
DAY = 86400
#: Lags, counted back from the origin (1 = the last step).
LAGS = (2, 3, 4, 5, 6)
#: Windows of the rolling means, in steps; 'day' and 'week' are resolved
#: from the step.
MEANS = (3, 12, 48, 'day', 'week')
#: Rolling quantiles: (window, quantiles).
QUANTILES = ((12, (0.5,)), (48, (0.1, 0.5, 0.9)))
#: Days averaged in the multi-day seasonal features.
SEASON_DAYS = 7
#: Exogenous lags and changes.
EXOG_LAGS = (0, 1, 2, 3, 4, 5)
EXOG_CHANGES = (1, 3, 12)
#: Target values are clipped to this many scales (robustness to spikes).
Z_CLIP = 50.0
#: Short cycles (see :func:`detect_cycles`): how many per series, the
#: longest lag searched as a share of a day, the days of history their
#: autocorrelation is measured on, and the cycles back averaged (mean) and
#: taken the median of.
CYCLES = 3
CYCLE_MAX_SHARE = 0.25
CYCLE_DAYS = 7
CYCLE_MEAN = 4
CYCLE_MEDIAN = 8
#: Series per block of the autocorrelation (bounds its memory).
_CYCLE_BLOCK = 1024

# Elements of (series x steps) per block of series. Each block allocates
# five rolling-sum arrays of this size; 4,000,000 was 10 % slower than
# this on 10,000 series (same rows), and took more memory.
_BLOCK_ELEMENTS = 500000


def map_blocks(fn, items, threads=1):
    """``[fn(item) for item in items]``, on up to ``threads`` threads.

    The blocks of series are independent, and numpy releases the GIL in
    the long array operations that make up each of them, so two blocks
    run on two cores at once. The results are the same, in order.
    """
    items = list(items)
    threads = max(1, int(threads or 1))
    if threads == 1 or len(items) < 2:
        return [fn(item) for item in items]
    from concurrent import futures

    with futures.ThreadPoolExecutor(min(threads, len(items))) as pool:
        return list(pool.map(fn, items))


def day_steps(step):
    """Steps per day (at least 1)."""
    return max(1, int(round(DAY / float(step))))


class Design(object):
    """Builds the feature rows of a set of series.

    :param step: seconds between steps.
    :param start: time of ``history[:, 0]``.
    :param epoch_known: whether ``start`` is POSIX time (enables the day
        of week features).
    :param with_h: include the horizon step as a feature.
    :param n_exog: number of exogenous series per series.
    :param threads: blocks of series built at once (see
        :func:`map_blocks`).
    """

    def __init__(self, step, start, epoch_known=True, with_h=True,
                 n_exog=0, threads=1):
        self.threads = max(1, int(threads or 1))
        self.step = int(step)
        self.start = int(start)
        self.epoch_known = bool(epoch_known)
        self.with_h = bool(with_h)
        self.n_exog = int(n_exog)
        self.period = day_steps(self.step)
        self.names = self._names()

    def _names(self):
        names = ['h'] if self.with_h else []
        names += ['lag%d' % k for k in LAGS]
        names += ['mean%s' % w for w in MEANS]
        names += ['std12', 'stdday']
        names += ['q%d_%d' % (int(q * 100), w) for w, qs in QUANTILES
                  for q in qs]
        names += ['sday', 'sday3', 'sday_origin', 'sdays', 'sdays_origin',
                  'sweek', 'smedian']
        names += ['cyc%d%s' % (m, f) for m in range(CYCLES)
                  for f in ('', '_mean', '_median', '_strength')]
        names += ['tod_%s%d' % (f, j) for j in (1, 2, 3)
                  for f in ('sin', 'cos')]
        if self.epoch_known:
            names += ['dow_sin', 'dow_cos', 'weekend']
        names += ['noise']
        for k in range(self.n_exog):
            names += ['x%d_lag%d' % (k, j) for j in EXOG_LAGS]
            names += ['x%d_chg%d' % (k, j) for j in EXOG_CHANGES]
        return names

    @property
    def n_features(self):
        return len(self.names)

    def window(self, name):
        return {'day': self.period, 'week': 7 * self.period}.get(name, name)

    def lookback(self, horizon):
        """Most steps before an origin any feature reads, plus margin."""
        return 8 * self.period + horizon + 64

    def warmup(self):
        """Steps of history before every feature can be computed."""
        return self.period + 1

    def rows(self, history, series, origins, steps, exog=None,
             cycles=None):
        """Features of rows ``(series[i], origins[i], steps[i])``.

        :param history: float array (S, T), NaN for missing.
        :param series, origins, steps: int arrays (n,); ``1 <= origin <=
            T``.
        :param exog: None or float array (S, K, T).
        :param cycles: ``(cycle, strength)`` of every series of
            ``history`` from :func:`detect_cycles`; by default measured on
            the history before the earliest origin, so that no row sees
            its own future. A caller that builds rows in several calls
            measures them once and passes them in.
        :returns: ``(X, last, scale)``: X float32 (n, n_features), and
            ``last``, ``scale`` float64 (n,) to map a prediction ``z`` back
            with ``last + scale * z``. ``last`` is NaN for rows without
            any finite value before the origin.
        """
        series = np.asarray(series, dtype=np.int64)
        origins = np.asarray(origins, dtype=np.int64)
        steps = np.asarray(steps, dtype=np.int64)
        n = series.size
        X = np.full((n, self.n_features), np.nan, dtype=np.float32)
        last = np.full(n, np.nan)
        scale = np.full(n, np.nan)
        if n == 0:
            return X, last, scale
        if cycles is None:
            cycles = detect_cycles(history[:, :int(origins.min())],
                                   self.period, threads=self.threads)
        cycle, strength = cycles
        # Only the window the features look at: the statistics below are
        # cumulative sums over the whole slice, whose cost would
        # otherwise grow with the history for a single origin. A series
        # silent for longer than the window keeps its last value (the
        # trimmed part is only dropped where every series has data in
        # the window).
        cut = max(0,
                  int(origins.min()) - self.lookback(int(steps.max()) + 1))
        if cut > 0 and not np.isfinite(
                history[:, cut:int(origins.min())]).any(axis=1).all():
            cut = 0
        if cut > 0:
            history = history[:, cut:]
            exog = None if exog is None else exog[:, :, cut:]
            origins = origins - cut
        length = history.shape[1]
        per_block = max(1, _BLOCK_ELEMENTS // max(length, 1))
        order = np.argsort(series, kind='stable')
        sorted_s = series[order]
        uniq = np.unique(sorted_s)

        def build(b):
            block = uniq[b:b + per_block]
            lo = np.searchsorted(sorted_s, block[0], side='left')
            hi = np.searchsorted(sorted_s, block[-1], side='right')
            idx = order[lo:hi]
            local = np.searchsorted(block, series[idx])
            ex = None if exog is None else exog[block]
            # Each block writes its own rows.
            X[idx], last[idx], scale[idx] = self._block(
                history[block], ex, local, origins[idx], steps[idx],
                cycle[block], strength[block], offset=cut)

        map_blocks(build, range(0, uniq.size, per_block), self.threads)
        return X, last, scale

    def _origin_block(self, stats, row, o):
        """Features that depend on the origin only: (n, k), last, scale."""
        cols = []
        period = self.period
        last = stats.last(row, o)
        scale = stats.scale(row, o, period, last)

        def rel(values):
            with np.errstate(invalid='ignore'):
                return (values - last) / scale

        for k in LAGS:
            cols.append(rel(stats.value(row, o - k)))
        for w in MEANS:
            cols.append(rel(stats.mean(row, o, self.window(w))))
        for w in (12, period):
            cols.append(stats.std(row, o, w) / scale)
        for w, qs in QUANTILES:
            window = stats.value(np.repeat(row[:, None], w, 1),
                                 o[:, None] - 1 - np.arange(w)[None, :])
            for q in _sorted_quantiles(window, qs):
                cols.append(rel(q))
        return np.stack(cols, axis=1), last, scale

    def _block(self, hist, exog, row, o, h, cycle, strength, offset=0):
        stats = _Stats(hist)
        period = self.period
        # Origin features once per (series, origin) pair, not per step.
        key = row * (stats.length + 1) + o
        uniq, inverse = np.unique(key, return_inverse=True)
        u_row, u_o = uniq // (stats.length + 1), uniq % (stats.length + 1)
        o_cols, u_last, u_scale = self._origin_block(stats, u_row, u_o)
        last, scale = u_last[inverse], u_scale[inverse]

        def rel(values):
            with np.errstate(invalid='ignore'):
                return (values - last) / scale

        cols = []
        if self.with_h:
            cols.append(h + 1.0)
        cols.extend(o_cols[inverse].T)
        # Seasonal: k days back so that the target's phase is in the past.
        target = o + h
        k = h // period + 1
        src = target - k * period
        cols.append(rel(stats.value(row, src)))
        cols.append(rel(stats.mean(row, src + 2, 3)))
        src_origin = o - 1 - (k - 1) * period - period
        cols.append(rel(stats.value(row, src_origin)))
        days = np.arange(SEASON_DAYS)[None, :] * period
        cols.append(rel(stats.nanmean_at(row, src[:, None] - days)))
        cols.append(rel(stats.nanmean_at(row, src_origin[:, None] - days)))
        kw = h // (7 * period) + 1
        cols.append(rel(stats.value(row, target - kw * 7 * period)))
        # Seasonal median: the same time of day (and the steps either
        # side) over the past days, robust to a burst on one of them.
        around = (days[:, :, None] + np.arange(-1, 2)[None, None, :]
                  ).reshape(1, -1)
        cols.append(rel(stats.nanmedian_at(row, src[:, None] - around)))
        # The series' own short cycles (NaN where it has none).
        back = np.arange(CYCLE_MEDIAN)[None, :]
        for m in range(CYCLES):
            c = cycle[row, m]
            has = c > 0
            kc = np.where(has, h // np.maximum(c, 1) + 1, 0)
            csrc = np.where(has, target - kc * c, -1)
            at = np.where(has[:, None], csrc[:, None] - back * c[:, None],
                          -1)
            cols.append(rel(stats.value(row, csrc)))
            cols.append(rel(stats.nanmean_at(row, at[:, :CYCLE_MEAN])))
            cols.append(rel(stats.nanmedian_at(row, at)))
            cols.append(strength[row, m])
        # Calendar.
        seconds = self.start + (target + offset) * self.step
        tod = (seconds % DAY) / float(DAY)
        for j in (1, 2, 3):
            cols.append(np.sin(2 * np.pi * j * tod))
            cols.append(np.cos(2 * np.pi * j * tod))
        if self.epoch_known:
            # 1970-01-01 was a Thursday: day 0 of the week is Monday.
            dow = ((seconds // DAY) + 3) % 7
            cols.append(np.sin(2 * np.pi * dow / 7.0))
            cols.append(np.cos(2 * np.pi * dow / 7.0))
            cols.append((dow >= 5).astype(np.float64))
        with np.errstate(invalid='ignore', divide='ignore'):
            cols.append(np.log(scale / (np.abs(last) + scale)))
        for k in range(self.n_exog):
            xstats = _Stats(exog[:, k, :])
            xlast = xstats.last(row, o)
            xscale = xstats.scale(row, o, period, xlast)
            xmean = xstats.mean(row, o, period)
            with np.errstate(invalid='ignore'):
                for j in EXOG_LAGS:
                    cols.append((xstats.value(row, o - 1 - j) - xmean)
                                / xscale)
                for j in EXOG_CHANGES:
                    cols.append((xlast - xstats.value(row, o - 1 - j))
                                / xscale)
        X = np.stack(cols, axis=1)
        X[~np.isfinite(X)] = np.nan
        return X.astype(np.float32), last, scale

    def targets(self, history, series, origins, steps, last, scale):
        """Scaled targets ``z`` of rows (NaN where unknown), clipped."""
        length = history.shape[1]
        t = np.asarray(origins) + np.asarray(steps)
        ok = t < length
        y = np.full(t.shape, np.nan)
        y[ok] = history[np.asarray(series)[ok], t[ok]]
        with np.errstate(invalid='ignore'):
            z = (y - last) / scale
        return np.clip(z, -Z_CLIP, Z_CLIP)


class _Stats(object):
    """Nan-aware rolling statistics of a block of series via cumsums."""

    def __init__(self, hist):
        hist = np.asarray(hist, dtype=np.float64)
        self.hist = hist
        n, length = hist.shape
        self.length = length
        finite = np.isfinite(hist)
        filled = np.where(finite, hist, 0.0)
        # Cumulative sums with a leading zero column, written in place.
        self.csum = self._cumsum(filled, n, 1)
        np.multiply(filled, filled, out=filled)
        self.csq = self._cumsum(filled, n, 1)
        # Counts in int32: exact, and half the memory to write and read.
        self.ccount = self._cumsum(finite, n, 1, np.int32)
        diff = np.abs(np.diff(hist, axis=1))
        dfin = np.isfinite(diff)
        diff[~dfin] = 0.0
        # cdiff[t] = sum of |y[i] - y[i-1]| for i < t (both finite).
        self.cdiff = self._cumsum(diff, n, 2)
        self.cdcount = self._cumsum(dfin, n, 2, np.int32)

    @staticmethod
    def _cumsum(values, n, lead, dtype=np.float64):
        out = np.empty((n, values.shape[1] + lead), dtype=dtype)
        out[:, :lead] = 0
        np.cumsum(values, axis=1, dtype=dtype, out=out[:, lead:])
        return out

    def value(self, row, t):
        """``hist[row, t]``, NaN where t is out of range."""
        t = np.asarray(t)
        ok = (t >= 0) & (t < self.length)
        out = np.full(t.shape, np.nan)
        out[ok] = self.hist[row[ok], t[ok]]
        return out

    def last(self, row, o):
        """Latest finite value before ``o``."""
        li = baselines.last_finite_cells(
            self.hist, row, np.clip(o, 1, self.length) - 1)
        out = self.hist[row, np.maximum(li, 0)]
        return np.where(li >= 0, out, np.nan)

    def _window(self, cum, row, o, w):
        o = np.clip(o, 0, self.length)
        a = np.clip(o - w, 0, self.length)
        return cum[row, o] - cum[row, a]

    def mean(self, row, o, w):
        """Mean of the finite values in ``[o - w, o)``."""
        total = self._window(self.csum, row, o, w)
        count = self._window(self.ccount, row, o, w)
        with np.errstate(invalid='ignore', divide='ignore'):
            return np.where(count > 0, total / count, np.nan)

    def std(self, row, o, w):
        total = self._window(self.csum, row, o, w)
        sq = self._window(self.csq, row, o, w)
        count = self._window(self.ccount, row, o, w)
        with np.errstate(invalid='ignore', divide='ignore'):
            mean = total / count
            var = np.maximum(sq / count - mean * mean, 0.0)
            return np.where(count > 1, np.sqrt(var), np.nan)

    def scale(self, row, o, w, last):
        """Mean absolute change over ``[o - w, o)``, floored above 0.

        Falls back to the whole history before ``o``, then to 1 % of
        ``|last|``; the floor is ``1e-3 * (|last| + 1e-3)``.
        """
        o = np.clip(o, 0, self.length)
        tot = self._window(self.cdiff, row, o, w)
        cnt = self._window(self.cdcount, row, o, w)
        tot_all = self.cdiff[row, o]
        cnt_all = self.cdcount[row, o]
        with np.errstate(invalid='ignore', divide='ignore'):
            s = np.where(cnt > 0, tot / cnt,
                         np.where(cnt_all > 0, tot_all / cnt_all,
                                  0.01 * np.abs(last)))
            floor = 1e-3 * (np.abs(last) + 1e-3)
            s = np.where(np.isfinite(s), s, 0.0)
            return np.maximum(s, np.where(np.isfinite(floor), floor, 1e-6))

    def nanmedian_at(self, row, t):
        """Median over the last axis of ``hist[row, t]`` ignoring NaN."""
        vals = self.value(np.repeat(row[:, None], t.shape[1], 1), t)
        return _sorted_quantiles(vals, (0.5,))[0]

    def nanmean_at(self, row, t):
        """Mean over the last axis of ``hist[row, t]`` ignoring NaN."""
        vals = self.value(np.repeat(row[:, None], t.shape[1], 1), t)
        count = np.isfinite(vals).sum(axis=1)
        total = np.where(np.isfinite(vals), vals, 0.0).sum(axis=1)
        with np.errstate(invalid='ignore', divide='ignore'):
            return np.where(count > 0, total / count, np.nan)


def detect_cycles(history, period, threads=1):
    """Each series' strongest short cycles, from its autocorrelation.

    The autocorrelation of the last :data:`CYCLE_DAYS` days of each series
    (missing values at the series' mean) is computed for all series at
    once by FFT (in blocks of series). Among its local peaks at lags 2 ..
    ``CYCLE_MAX_SHARE`` of a day, the highest is the first cycle; where
    several peaks come within 10 % of it (the cycle's multiples), the
    shortest. The next cycle is chosen the same way among the peaks that
    are neither a multiple (within one step) nor a divisor of the cycles
    already chosen, up to :data:`CYCLES` of them.

    :param history: float array (S, T), NaN for missing.
    :param period: steps per day.
    :param threads: blocks of series measured at once (see
        :func:`map_blocks`).
    :returns: ``(cycle, strength)``: int array (S, CYCLES), the lags in
        steps (0 where there is no such peak, or too little data: a series
        needs at least half of the window, and the window four times the
        longest lag), and float array (S, CYCLES), the autocorrelation at
        those lags (0 where there is no cycle).
    """
    n = history.shape[0]
    cycle = np.zeros((n, CYCLES), dtype=np.int64)
    strength = np.zeros((n, CYCLES))
    most = int(period * CYCLE_MAX_SHARE)
    window = history[:, -CYCLE_DAYS * period:] if history.shape[1] else (
        history)
    length = window.shape[1]
    if n == 0 or most < 3 or length < 4 * most:
        return cycle, strength
    # Zero padding to length + most + 2 already keeps the wrapped-around
    # products out of lags 0 .. most + 1 (the only ones read), and a
    # size with small prime factors is fast: 2,160 for a week of 5-minute
    # steps, against 4,096 for twice the length.
    size = _fft_size(length + most + 2)
    lags = np.arange(2, most + 1)

    def measure(b):
        part = np.asarray(window[b:b + _CYCLE_BLOCK], dtype=np.float64)
        finite = np.isfinite(part)
        count = finite.sum(axis=1)
        mean = np.where(finite, part, 0.0).sum(axis=1) / np.maximum(count, 1)
        x = np.where(finite, part - mean[:, None], 0.0)
        spec = np.fft.rfft(x, size, axis=1)
        acf = np.fft.irfft(spec * np.conj(spec), size, axis=1)[:, :most + 2]
        with np.errstate(invalid='ignore', divide='ignore'):
            acf = acf / acf[:, :1]
        acf[~np.isfinite(acf)] = 0.0
        r = acf[:, lags]
        peak = (r > acf[:, lags - 1]) & (r >= acf[:, lags + 1]) & (r > 0)
        peak &= (count >= length // 2)[:, None]
        for m in range(CYCLES):
            score = np.where(peak, r, -np.inf)
            best = score.max(axis=1)
            ok = np.isfinite(best)
            first = np.argmax(peak & (score >= 0.9 * best[:, None]), axis=1)
            cycle[b:b + part.shape[0], m] = np.where(ok, lags[first], 0)
            strength[b:b + part.shape[0], m] = np.where(
                ok, r[np.arange(part.shape[0]), first], 0.0)
            # The next cycle is none of this one's multiples or divisors.
            c = np.maximum(lags[first], 1)[:, None]
            rem = lags[None, :] % c
            related = (np.minimum(rem, c - rem) <= 1) | (
                c % lags[None, :] == 0)
            peak &= ~(related & ok[:, None])

    map_blocks(measure, range(0, n, _CYCLE_BLOCK), threads)
    return cycle, strength


def _fft_size(n):
    """Smallest FFT length >= ``n`` with only small prime factors."""
    from scipy import fft  # imported late: a heavy import

    return fft.next_fast_len(int(n), real=True)


def _sorted_quantiles(values, qs):
    """Quantiles along axis 1 ignoring NaN (nearest rank), NaN if none."""
    ordered = np.sort(values, axis=1)            # NaN last
    count = np.isfinite(ordered).sum(axis=1)
    out = []
    for q in qs:
        idx = np.floor(q * np.maximum(count - 1, 0) + 0.5).astype(np.int64)
        val = np.take_along_axis(ordered, idx[:, None], axis=1)[:, 0]
        out.append(np.where(count > 0, val, np.nan))
    return out


def sample_rows(n_series, length, horizon, first, rng, max_rows,
                last=None):
    """Random training rows ``(series, origin, step)``.

    Origins are drawn uniformly from ``first .. last - h`` for each row's
    step ``h`` (so the target is in the history); at most ``max_rows``
    rows, or every row when there are fewer.
    """
    last = length if last is None else last
    first = max(1, min(first, last - horizon))
    n_orig = max(0, last - first - horizon + 1)
    total = n_series * n_orig * horizon
    if total == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    if total <= max_rows:
        s, o, h = np.meshgrid(np.arange(n_series),
                              first + np.arange(n_orig),
                              np.arange(horizon), indexing='ij')
        return s.ravel(), o.ravel(), h.ravel()
    s = rng.integers(0, n_series, max_rows)
    h = rng.integers(0, horizon, max_rows)
    o = rng.integers(first, last - h)
    return s, o, h
