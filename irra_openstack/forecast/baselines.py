"""Baseline forecasters: naive and seasonal naive, with conformal intervals.

They need no fitting, so the rolling-origin back-test that calibrates their
intervals (:meth:`.base.Forecaster.fit`) is out of sample by construction.
They are the yardsticks of :func:`.evaluate.backtest` (relMAE is the MAE
of a method over the MAE of the naive forecast) and the defaults of the
engine.
"""

import numpy as np

from irra_openstack.forecast import base


def last_finite_index(history):
    """Index of the last finite value at or before each step, or -1.

    :returns: int array like ``history`` (series, T).
    """
    length = history.shape[1]
    idx = np.where(np.isfinite(history), np.arange(length), -1)
    return np.maximum.accumulate(idx, axis=1)


#: Steps :func:`last_finite_cells` walks back cell by cell before it
#: falls back to a scan of the whole history of the rows still without a
#: value.
_WALK = 12


def _phase_scan(history, stride):
    """Last finite index at or before each step, at the same phase.

    With ``stride`` 1 this is :func:`last_finite_index`; otherwise only
    the steps ``t, t - stride, t - 2 * stride, ...`` count.
    """
    n_series, length = history.shape
    n_chunks = -(-length // stride)
    padded = np.full((n_series, n_chunks * stride), -1, dtype=np.int64)
    padded[:, :length] = np.where(np.isfinite(history), np.arange(length),
                                  -1)
    scan = np.maximum.accumulate(
        padded.reshape(n_series, n_chunks, stride), axis=1)
    return scan.reshape(n_series, n_chunks * stride)[:, :length]


def last_finite_cells(history, row, t, stride=1):
    """Index of the last finite ``history[row[i]]`` at or before ``t[i]``.

    Without accumulating over the whole history: the common case (the
    value at ``t`` is there) costs one gather, a short gap a few more, and
    only the rows of the cells with a longer gap are scanned. With
    ``stride`` the search steps back by ``stride`` (the same phase of a
    season).

    :param row, t: int arrays of the same shape; ``t`` below T, and a
        negative ``t`` has no value.
    :returns: int array like ``t``, -1 where there is no finite value.
    """
    row = np.asarray(row, dtype=np.int64)
    t = np.asarray(t, dtype=np.int64)
    out = np.full(t.shape, -1, dtype=np.int64)
    flat_row, flat_t, flat_out = row.ravel(), t.ravel(), out.reshape(-1)
    todo = np.flatnonzero(flat_t >= 0)
    for back in range(_WALK + 1):
        at = flat_t[todo] - back * stride
        todo, at = todo[at >= 0], at[at >= 0]
        if not todo.size:
            return out
        found = np.isfinite(history[flat_row[todo], at])
        flat_out[todo[found]] = at[found]
        todo = todo[~found]
    if todo.size:
        rows, inverse = np.unique(flat_row[todo], return_inverse=True)
        scan = _phase_scan(history[rows, :int(flat_t[todo].max()) + 1],
                           stride)
        flat_out[todo] = scan[inverse, flat_t[todo]]
    return out


def last_finite_at(history, cols, stride=1):
    """:func:`last_finite_index` at the columns ``cols`` only.

    :param cols: int array (n,) of columns below T; negative ones have
        no value.
    :returns: int array (series, n), -1 where there is no finite value
        (see :func:`last_finite_cells`).
    """
    cols = np.asarray(cols, dtype=np.int64)
    rows = np.arange(history.shape[0])[:, None]
    return last_finite_cells(history, np.broadcast_to(rows, (
        rows.size, cols.size)), np.broadcast_to(cols, (rows.size,
                                                       cols.size)), stride)


def _take(history, index):
    """``history[s, index[s, ...]]``, NaN where the index is negative."""
    n_series = history.shape[0]
    flat = index.reshape(n_series, int(np.prod(index.shape[1:])))
    values = np.take_along_axis(history, np.maximum(flat, 0), axis=1)
    values = np.where(flat >= 0, values, np.nan)
    return values.reshape(index.shape)


class NaiveForecaster(base.Forecaster):
    """Every step of the horizon is the last finite value of the history.

    Gaps are skipped: the forecast is the most recent value that is there.
    """

    name = 'naive'
    description = 'Last observed value, with conformal intervals.'

    def _naive_paths(self, history, origins):
        n_series, length = history.shape
        if length == 0:
            return np.full((n_series, len(origins), self.horizon), np.nan)
        last = last_finite_at(history, np.asarray(origins) - 1)
        values = _take(history, last)                       # (S, n)
        return np.repeat(values[:, :, None], self.horizon, axis=2)

    def _paths(self, history, origins):
        return self._naive_paths(history, origins)


class SeasonalNaiveForecaster(NaiveForecaster):
    """Each step of the horizon is the value one season before it.

    The step ``o + h`` after an origin ``o`` gets the value at
    ``o + h - k * season`` with the smallest ``k >= 1`` that lies in the
    history, that is at ``o - season + (h mod season)``; if that value is
    missing, the latest finite value at the same phase of an earlier season
    is used, and if there is none, the naive forecast. A series with less
    than one season of history (counted from its first finite value) gets
    the naive forecast, as does every series when ``season`` is 0.
    """

    name = 'seasonal_naive'
    description = ('Value one season ago (naive when the history is '
                   'shorter), with conformal intervals.')

    def _paths(self, history, origins):
        naive = self._naive_paths(history, origins)
        season = self.season
        n_series, length = history.shape
        if season == 0 or length == 0:
            return naive
        origins = np.asarray(origins)
        # Last finite index at the same phase, at or before the step one
        # season back.
        h = np.arange(self.horizon)
        source = origins[:, None] - season + (h % season)[None, :]  # (n, H)
        index = last_finite_at(history, source.ravel(), stride=season)
        index = index.reshape((n_series,) + source.shape)
        # Seasonal only once a whole season has passed since the first
        # finite value of the series.
        first = np.argmax(np.isfinite(history), axis=1)         # (S,)
        enough = (origins[None, :] - first[:, None]) >= season  # (S, n)
        index = np.where(enough[:, :, None], index, -1)
        seasonal = _take(history, index)
        return np.where(np.isnan(seasonal), naive, seasonal)

    def _warmup(self):
        return max(self.season, 1)

    def _notes(self, history):
        if self.season == 0 or history.shape[1] == 0:
            return []
        finite = np.isfinite(history)
        first = np.argmax(finite, axis=1)
        short = finite.any(axis=1) & (
            history.shape[1] - first < self.season)
        return [(short, 'less than one season of history: naive '
                 'forecast')]
