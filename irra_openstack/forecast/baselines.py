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
        last = last_finite_index(history)[:, np.asarray(origins) - 1]
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
        # Last finite index at the same phase, at or before each step:
        # fold the history into (series, seasons, season) and accumulate
        # over seasons.
        n_seasons = -(-length // season)
        padded = np.full((n_series, n_seasons * season), -1)
        padded[:, :length] = np.where(np.isfinite(history),
                                      np.arange(length), -1)
        phase_last = np.maximum.accumulate(
            padded.reshape(n_series, n_seasons, season), axis=1)
        phase_last = phase_last.reshape(n_series, n_seasons * season)
        phase_last = phase_last[:, :length]

        h = np.arange(self.horizon)
        source = origins[:, None] - season + (h % season)[None, :]  # (n, H)
        index = np.where(source[None] >= 0,
                         phase_last[:, np.maximum(source, 0)], -1)
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
