"""Rolling-origin evaluation of forecasters.

:func:`backtest` holds out the last ``test_steps`` of the history. From
each origin ``o`` in that part (every ``stride`` steps, with the whole
horizon inside the history) it fits each forecaster on ``history[:, :o]``,
exactly as it would be in production (intervals calibrated on data before
``o`` only), forecasts the next ``horizon`` steps, and compares with what
happened. Every origin is one call for all series.

The figures, over all series, origins and horizon steps where the actual
value is known (``e = y - point``, ``alpha = 1 - level``):

* MAE: mean of ``|e|``.
* relMAE: MAE over the MAE of the naive forecast on the same cells (per
  horizon step in ``rel_mae_by_h``); below 1 beats naive.
* MASE: per series, MAE over the mean absolute one-step change of that
  series before the test part, then the mean over series (series with a
  zero or unknown scale are left out).
* coverage: share of actual values within ``[lower, upper]``.
* mean width: mean of ``upper - lower``.
* Winkler (interval) score: ``width + 2 / alpha * (lower - y)`` when
  ``y < lower``, ``width + 2 / alpha * (y - upper)`` when ``y > upper``,
  else ``width``; lower is better, and it rewards narrow intervals only
  when they cover.
"""

import copy
import dataclasses

import numpy as np

from irra_openstack.forecast import base
from irra_openstack.forecast import baselines

#: Default share of the history held out for testing.
DEFAULT_TEST_FRAC = 0.2
#: Default most test origins.
DEFAULT_MAX_ORIGINS = 50


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class Scores:
    """The back-test figures of one forecaster (see the module doc)."""

    name: str
    level: float
    horizon: int
    n_series: int
    n_origins: int
    n_points: int
    mae: float
    rel_mae: float
    mase: float
    coverage: float
    mean_width: float
    winkler: float
    mae_by_h: np.ndarray
    rel_mae_by_h: np.ndarray
    coverage_by_h: np.ndarray

    def summary(self):
        """One line for people, e.g. for the demo."""
        return ('%s: MAE %.4g, relMAE %.2f, MASE %.2f, %g%% interval '
                'covers %.2f (mean width %.4g, Winkler %.4g)'
                % (self.name, self.mae, self.rel_mae, self.mase,
                   round(self.level * 100, 1), self.coverage,
                   self.mean_width, self.winkler))

    def __repr__(self):
        return '<Scores %s>' % self.summary()


def _ratio(num, den):
    with np.errstate(invalid='ignore', divide='ignore'):
        out = np.where(den > 0, num / np.where(den > 0, den, 1.0),
                       np.where(num > 0, np.inf, np.nan))
    return out


def backtest(forecasters, history, start, test_steps=None,
             test_frac=DEFAULT_TEST_FRAC, stride=None,
             max_origins=DEFAULT_MAX_ORIGINS):
    """Score forecasters by rolling-origin evaluation.

    :param forecasters: a :class:`~.base.Forecaster` or a sequence of
        them, all with the same step and horizon. They are copied, not
        changed.
    :param history: float array (series, T), NaN for missing.
    :param start: time of ``history[:, 0]``.
    :param test_steps: how many of the last steps are the test part;
        by default ``test_frac`` of T. It must hold at least one horizon.
    :param test_frac: used when ``test_steps`` is None.
    :param stride: steps between origins; by default the smallest that
        gives at most ``max_origins`` origins.
    :returns: a dict, forecaster name -> :class:`Scores`, in the order
        given; the naive reference is scored too, under 'naive'.
    """
    if isinstance(forecasters, base.Forecaster):
        forecasters = [forecasters]
    forecasters = list(forecasters)
    if not forecasters:
        raise base.ForecastError(reason="no forecaster to back-test")
    first = forecasters[0]
    step, horizon = first.step, first.horizon
    for f in forecasters:
        if not isinstance(f, base.Forecaster):
            raise base.ForecastError(
                reason="%r is not a forecaster" % (f,))
        if (f.step, f.horizon) != (step, horizon):
            raise base.ForecastError(
                reason="all forecasters of a back-test must have the same "
                       "step and horizon")
    history = first._check_history(history)
    n_series, length = history.shape
    if test_steps is None:
        if not 0.0 < float(test_frac) < 1.0:
            raise base.ForecastError(
                reason="test_frac must be between 0 and 1, got %r"
                % (test_frac,))
        test_steps = int(round(length * float(test_frac)))
    test_steps = base._whole('test_steps', test_steps, 1)
    if test_steps < horizon or test_steps >= length:
        raise base.ForecastError(
            reason="the test part (%d steps) must hold at least one "
                   "horizon (%d steps) and leave some history (the series "
                   "have %d steps)" % (test_steps, horizon, length))
    first_origin = length - test_steps
    last_origin = length - horizon
    count = last_origin - first_origin + 1
    if stride is None:
        most = base._whole('max_origins', max_origins, 1)
        stride = max(1, -(-count // most))
    stride = base._whole('stride', stride, 1)
    # Count back from the end so that the last origin is always used.
    origins = np.arange(last_origin, first_origin - 1, -stride)[::-1]

    if not any(f.name == 'naive' for f in forecasters):
        forecasters.append(baselines.NaiveForecaster(
            step=step, horizon=horizon, level=first.level,
            floor=first.floor, cold_start=first.cold_start))
    names = []
    for f in forecasters:
        name, k = f.name, 2
        while name in names:
            name, k = '%s#%d' % (f.name, k), k + 1
        names.append(name)

    target = origins[:, None] + np.arange(horizon)[None, :]
    actual = history[:, target]                              # (S, n, H)
    known = np.isfinite(actual)
    outputs = {}
    for name, f in zip(names, forecasters):
        f = copy.deepcopy(f)
        shape = (n_series, len(origins), horizon)
        point, lower, upper = (np.empty(shape) for _ in range(3))
        for i, o in enumerate(origins):
            f.calibrator = None
            fc = f.predict(history[:, :o], start)
            point[:, i], lower[:, i], upper[:, i] = (
                fc.point, fc.lower, fc.upper)
        outputs[name] = (f.level, point, lower, upper)

    scale = _one_step_scale(history[:, :first_origin])
    naive_err = np.abs(actual - outputs['naive'][1])
    result = {}
    for name in names:
        level, point, lower, upper = outputs[name]
        result[name] = _score(name, level, horizon, actual, known, point,
                              lower, upper, naive_err, scale, len(origins))
    return result


def _one_step_scale(history):
    with np.errstate(invalid='ignore', over='ignore'):
        diff = np.abs(np.diff(history, axis=1))
    ok = np.isfinite(diff)
    count = ok.sum(axis=1)
    total = np.where(ok, diff, 0.0).sum(axis=1)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _score(name, level, horizon, actual, known, point, lower, upper,
           naive_err, scale, n_origins):
    with np.errstate(invalid='ignore', over='ignore'):
        err = np.where(known, np.abs(actual - point), 0.0)
        nerr = np.where(known, naive_err, 0.0)
        inside = known & (lower <= actual) & (actual <= upper)
        width = np.where(known, upper - lower, 0.0)
        alpha = 1.0 - level
        below = np.where(known, np.maximum(lower - actual, 0.0), 0.0)
        above = np.where(known, np.maximum(actual - upper, 0.0), 0.0)
        winkler = width + 2.0 / alpha * (below + above)
    n_h = known.sum(axis=(0, 1))                             # (H,)
    n = int(n_h.sum())
    if n == 0:
        nan = float('nan')
        empty = np.full(horizon, np.nan)
        return Scores(name, level, horizon, actual.shape[0], n_origins, 0,
                      nan, nan, nan, nan, nan, nan, empty, empty, empty)
    err_h = err.sum(axis=(0, 1))
    with np.errstate(invalid='ignore', divide='ignore'):
        mae_by_h = np.where(n_h > 0, err_h / np.maximum(n_h, 1), np.nan)
        coverage_by_h = np.where(
            n_h > 0, inside.sum(axis=(0, 1)) / np.maximum(n_h, 1), np.nan)
        n_s = known.sum(axis=(1, 2))
        mae_s = err.sum(axis=(1, 2)) / np.maximum(n_s, 1)
        mase_s = mae_s / scale
    usable = (n_s > 0) & np.isfinite(scale) & (scale > 0)
    return Scores(
        name=name, level=level, horizon=horizon, n_series=actual.shape[0],
        n_origins=n_origins, n_points=n,
        mae=float(err.sum() / n),
        rel_mae=float(_ratio(err.sum(), nerr.sum())),
        mase=float(mase_s[usable].mean()) if usable.any() else float('nan'),
        coverage=float(inside.sum() / n),
        mean_width=float(width.sum() / n),
        winkler=float(winkler.sum() / n),
        mae_by_h=mae_by_h,
        rel_mae_by_h=_ratio(err_h, nerr.sum(axis=(0, 1))),
        coverage_by_h=coverage_by_h)
