"""The forecasting benchmark behind ``irra-manage bench forecast``.

Protocol (the same for every method, in one run):

* the trace's series of one metric are read (a sample of ``series`` of
  them when asked, drawn with ``seed``; or tiled to ``tile`` series, by
  repeating them, for the speed run);
* the test part is the last ``round(test_frac * D)`` *whole days* of the
  ``D`` whole days of the trace; every method is fitted once on what comes
  before it;
* rolling origin: from every ``stride``-th step of the test part (every
  ``horizon`` steps by default), each method forecasts the next
  ``horizon`` steps from all the data before the origin, without refitting;
  a forecaster with adaptive intervals (``irra``) is told the actual
  values of each forecast once they are all known, as the service is
  (:meth:`.base.Forecaster.update`);
* the scores (see :mod:`.evaluate`) are over all series, origins and steps
  whose actual value is known: MAE, relMAE (MAE over the naive MAE on the
  same cells), MASE (scaled per series by the mean absolute one-step change
  before the test part), coverage and mean width of the interval, and the
  interval (Winkler) score.

Inputs: ``irra`` may also take other metrics of the same series as
exogenous inputs, those the service gives it (:func:`service_inputs`: for
memory, the VM's CPU use); every forecast reads them only before its
origin. The other methods forecast from the metric alone.

Methods: ``irra`` (the configured forecaster, ``auto`` by default),
``naive``, ``seasonal_naive`` (one day), ``ets`` (statsmodels simple
exponential smoothing, fitted per series; its forecast is flat at the
filtered level, and its interval the textbook normal one, ``+- z sigma
sqrt(1 + (h - 1) a^2)``) and ``gbm_uncalibrated`` (the global gradient
boosting model with its raw quantiles, no conformal step). The raw
quantiles of ``gbm_uncalibrated`` are the reference band of the width
target: two quantile models of 100 iterations on at most 30,000 rows
(:data:`REFERENCE_BAND`, irra's band before its cheaper default of 30
iterations on 60,000 rows), whatever ``[forecasters.gbm]`` says, so that
the bar does not move with irra's own settings.

Times: ``fit_s`` is the training (and calibration) on the training part;
``predict_s`` the forecasts from all test origins; ``forecast_s`` one
forecast of every series from the end of the training part, so that
``fit_s + forecast_s`` is the "train and forecast" time of the speed
target. ETS is fitted on at most ``ets_sample`` series; when that is fewer
than all, its time is extrapolated linearly to all series and its scores
are over the sample (the JSON says so). ``peak_rss_mb`` is the largest
resident set size of the process seen while the method ran (sampled).
"""

import copy
import os
import tempfile
import threading
import time

import numpy as np
from oslo_log import log as logging

from irra_openstack import exception
from irra_openstack.forecast import baselines
from irra_openstack.forecast import gbm as gbm_mod

LOG = logging.getLogger(__name__)

#: --metric names and the canonical metrics they read.
METRICS = {'cpu': 'cpu_util', 'memory': 'mem_util'}
#: Default number of series ETS is fitted on in a large run.
DEFAULT_ETS_SAMPLE = 200
#: The quantile models of ``gbm_uncalibrated`` (see the module doc).
REFERENCE_BAND = {'iter': 100, 'rows': 30000}


class BenchError(exception.IrraError):
    msg_fmt = "Benchmark failed: %(reason)s"


def _rss_mb():
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class PeakRSS(object):
    """Largest RSS (MB) of the process while the block runs (sampled)."""

    def __init__(self, interval=0.05):
        self.interval = interval
        self.peak = 0.0
        self._stop = threading.Event()

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss_mb())
            self._stop.wait(self.interval)

    def __enter__(self):
        self.peak = _rss_mb()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_mb())


def load_series(trace, fmt, metric, series=None, seed=0, tile=None):
    """Read one metric of a trace as (S, T) float64.

    :param trace: a canonical file (format ``irra``) or any trace an
        importer reads (it is imported into a temporary file first).
    :returns: ``(values, start, step, epoch_known, names)``.
    """
    return load(trace, fmt, metric, series=series, seed=seed,
                tile=tile)[:5]


def load(trace, fmt, metric, inputs=(), series=None, seed=0, tile=None):
    """Read one metric of a trace, and its input metrics, in one pass.

    As :func:`load_series`, plus the metrics ``inputs`` of the same series
    (the trace is imported once for all of them); those the trace does not
    have are left out (and logged).

    :returns: ``(values, start, step, epoch_known, names, inputs)``, with
        ``inputs`` None or ``(found names, exog (S, K, T) float64)``.
    """
    from irra_openstack.traces import api

    metric_name = METRICS.get(metric, metric)
    fmt = fmt or 'auto'
    if fmt == 'auto':
        fmt = api.sniff_format(trace)
    tmpdir = None
    try:
        if fmt != 'irra':
            tmpdir = tempfile.mkdtemp(prefix='irra-bench-')
            path = os.path.join(tmpdir, 'trace.irra')
            LOG.info('Importing %s (%s) for the benchmark', trace, fmt)
            api.import_trace(trace, path, fmt=fmt)
        else:
            path = trace
        with api.open_trace(path) as tr:
            if metric_name not in tr.metrics:
                raise BenchError(
                    reason="the trace has no metric %s (it has %s)"
                    % (metric_name, ', '.join(tr.metrics)))
            wanted = [METRICS.get(m, m) for m in inputs]
            found = [m for m in wanted
                     if m in tr.metrics and m != metric_name]
            for m in wanted:
                if m not in tr.metrics:
                    LOG.info('bench: without the input %s: the trace has '
                             'no such metric', m)
            frame = tr.read(metrics=[metric_name] + found)
    finally:
        if tmpdir:
            import shutil

            shutil.rmtree(tmpdir, ignore_errors=True)
    names = list(frame.resources)
    idx = np.arange(len(names))
    if series and series < idx.size:
        rng = np.random.default_rng(seed)
        idx = np.sort(rng.choice(idx.size, series, replace=False))
        names = [names[i] for i in idx]
    if tile and tile != idx.size:
        reps = -(-tile // idx.size)
        rep = np.tile(np.arange(idx.size), reps)[:tile]
        idx = idx[rep]
        names = ['%s#%d' % (names[i], k) for k, i in enumerate(rep)]
    values = frame.metric(metric_name).astype(np.float64)[idx]
    exog = None
    if found:
        exog = (found, np.stack([frame.metric(m).astype(np.float64)[idx]
                                 for m in found], axis=1))
    return (values, frame.start, frame.step, frame.epoch_known, names,
            exog)


def service_inputs(metric, cpu_as_memory_input=True):
    """The input metrics the service forecasts ``metric`` with.

    See :func:`.base.input_metrics` (in the benchmark's metric names).
    """
    from irra_openstack.forecast import base

    return base.input_metrics(METRICS.get(metric, metric), METRICS['cpu'],
                              METRICS['memory'], cpu_as_memory_input)


def split(length, step, horizon, test_frac, stride=None):
    """Start of the test part (whole days) and the test origins."""
    day = max(1, int(round(86400.0 / step)))
    days = length // day
    test_days = int(round(days * float(test_frac)))
    if not 0 < test_days < days:
        raise BenchError(
            reason="test_frac %s of %d whole days leaves no test or no "
                   "training part" % (test_frac, days))
    test_start = length - test_days * day
    stride = stride or horizon
    origins = np.arange(test_start, length - horizon + 1, stride)
    if origins.size == 0:
        raise BenchError(reason="the test part is shorter than the horizon")
    return test_start, origins


def _score(actual, point, lower, upper, naive_point, level, scale):
    known = np.isfinite(actual)
    n = max(int(known.sum()), 1)
    with np.errstate(invalid='ignore'):
        err = np.where(known, np.abs(actual - point), 0.0)
        nerr = np.where(known, np.abs(actual - naive_point), 0.0)
        inside = known & (lower <= actual) & (actual <= upper)
        width = np.where(known, upper - lower, 0.0)
        alpha = 1.0 - level
        miss = (np.where(known, np.maximum(lower - actual, 0.0), 0.0) +
                np.where(known, np.maximum(actual - upper, 0.0), 0.0))
    n_s = known.sum(axis=(1, 2))
    mae_s = err.sum(axis=(1, 2)) / np.maximum(n_s, 1)
    ok = (n_s > 0) & np.isfinite(scale) & (scale > 0)
    with np.errstate(invalid='ignore', divide='ignore'):
        mase = float((mae_s[ok] / scale[ok]).mean()) if ok.any() else None
    mae_h = err.sum(axis=(0, 1)) / np.maximum(known.sum(axis=(0, 1)), 1)
    nmae_h = nerr.sum(axis=(0, 1)) / np.maximum(known.sum(axis=(0, 1)), 1)
    return {
        'mae': float(err.sum() / n),
        'rel_mae': float(err.sum() / nerr.sum()) if nerr.sum() else None,
        'mase': mase,
        'coverage': float(inside.sum() / n),
        'width': float(width.sum() / n),
        'interval_score': float((width + 2.0 / alpha * miss).sum() / n),
        'rel_mae_by_h': [round(float(a / b), 4) if b else None
                         for a, b in zip(mae_h, nmae_h)],
        'coverage_by_h': [round(float(c), 4) for c in
                          inside.sum(axis=(0, 1)) /
                          np.maximum(known.sum(axis=(0, 1)), 1)],
    }


def _rolling(forecaster, values, origins, horizon, floor, adapt=True,
             progress=None, done=0, total=1):
    """Point and calibrated bounds from every origin, updating the ACI."""
    n_series = values.shape[0]
    length = values.shape[1]
    shape = (n_series, origins.size, horizon)
    point = np.empty(shape)
    lower = np.empty(shape)
    upper = np.empty(shape)
    chunk = 32
    pending = []
    cal = forecaster.calibrator
    for i0 in range(0, origins.size, chunk):
        sub = origins[i0:i0 + chunk]
        paths, w_lo, w_hi = forecaster._paths_band(values, sub)
        for j, o in enumerate(sub):
            # Tell the calibrator the outcome of every past forecast whose
            # targets are all before this origin.
            while adapt and pending and pending[0][0] + horizon <= o:
                po, pp, pl, pu = pending.pop(0)
                actual = values[:, po:po + horizon]
                cal.update(actual, pp, pl, pu)
            p = paths[:, j]
            fallback = _last_values(values, o, forecaster.cold_start)
            p = np.where(np.isfinite(p), p, fallback[:, None])
            if w_lo is None:
                lo, hi = cal.interval(p)
            else:
                lo, hi = cal.interval(p, w_lo[:, j], w_hi[:, j])
            if floor is not None:
                p = np.maximum(p, floor)
                lo = np.maximum(lo, floor)
                hi = np.maximum(hi, floor)
            lo = np.minimum(np.nan_to_num(lo, nan=-np.inf), p)
            hi = np.maximum(np.nan_to_num(hi, nan=np.inf), p)
            point[:, i0 + j], lower[:, i0 + j], upper[:, i0 + j] = p, lo, hi
            pending.append((o, p, lo, hi))
        if progress is not None:
            progress(done + min(i0 + chunk, origins.size), total)
    del length
    return point, lower, upper


def _last_values(values, o, cold):
    window = values[:, max(0, o - 2016):o]
    last = (baselines.last_finite_at(window, [window.shape[1] - 1])[:, 0]
            if window.shape[1] else np.full(values.shape[0], -1))
    out = np.take_along_axis(window, np.maximum(last, 0)[:, None], 1)[:, 0] \
        if window.shape[1] else np.full(values.shape[0], np.nan)
    return np.where(last >= 0, out, cold)


def _fill(values):
    """Forward then backward fill of NaN along time, per series."""
    idx = baselines.last_finite_index(values)
    first = np.argmax(np.isfinite(values), axis=1)
    idx = np.where(idx >= 0, idx, first[:, None])
    out = np.take_along_axis(values, idx, axis=1)
    return np.where(np.isfinite(out), out, 0.0)


def _ets(train, values, origins, horizon, level, sample, seed):
    """Per-series statsmodels SES; returns paths and timing info."""
    try:
        from statsmodels.tsa import holtwinters
    except ImportError:
        raise BenchError(
            reason="the ets method needs statsmodels: install the bench "
                   "extra (pip install 'irra-openstack[bench]')")
    import warnings

    n_series = train.shape[0]
    rng = np.random.default_rng(seed)
    if sample and sample < n_series:
        rows = np.sort(rng.choice(n_series, sample, replace=False))
    else:
        rows = np.arange(n_series)
    filled = _fill(train[rows])
    alphas = np.empty(rows.size)
    sigmas = np.empty(rows.size)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        for k in range(rows.size):       # per-series fits: that is ETS
            fit = holtwinters.SimpleExpSmoothing(
                filled[k], initialization_method='estimated').fit()
            alphas[k] = fit.params['smoothing_level']
            resid = filled[k] - fit.fittedvalues
            sigmas[k] = np.sqrt(np.mean(resid ** 2))
    fit_s = time.perf_counter() - t0
    # Filter the level through all the data, vectorised over series.
    t0 = time.perf_counter()
    vals = values[rows]
    first = _fill(vals[:, :1])[:, 0]
    level_now = first.copy()
    levels = np.empty((rows.size, origins.size))
    want = {int(o): i for i, o in enumerate(origins)}
    # A loop over time, vectorised across series: the SES recursion.
    for t in range(int(origins.max())):
        y = vals[:, t]
        level_now = np.where(np.isfinite(y),
                             level_now + alphas * (y - level_now),
                             level_now)
        if t + 1 in want:
            levels[:, want[t + 1]] = level_now
    z = _z(level)
    h = np.arange(horizon)
    half = z * sigmas[:, None] * np.sqrt(1.0 + h[None, :] *
                                         alphas[:, None] ** 2)
    point = np.repeat(levels[:, :, None], horizon, axis=2)
    lower = point - half[:, None, :]
    upper = point + half[:, None, :]
    predict_s = time.perf_counter() - t0
    return rows, point, lower, upper, fit_s, predict_s


def _z(level):
    """Two-sided standard normal quantile, by bisection on erf."""
    import math

    target = 0.5 + level / 2.0
    lo, hi = 0.0, 10.0
    for _ in range(100):
        mid = (lo + hi) / 2.0
        if 0.5 * (1.0 + math.erf(mid / math.sqrt(2.0))) < target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2.0


def run(values, start, step, epoch_known, horizon, make_irra, level=0.9,
        test_frac=0.3, stride=None, ets_sample=DEFAULT_ETS_SAMPLE, seed=0,
        methods=None, progress=None, floor=0.0, inputs=None):
    """Run the benchmark on ``values`` (S, T); see the module doc.

    :param make_irra: a callable returning the ``irra`` forecaster (built
        with this step, horizon and level).
    :param methods: names to run (default all).
    :param inputs: None, or ``(names, exog)``: other metrics of the same
        series, float (S, K, T), that ``irra`` takes as exogenous inputs
        (as the service does, see :func:`service_inputs`); each origin's
        forecast reads them only before the origin.
    :returns: the result dict (JSON-able).
    """
    # The libraries are imported before any timer starts, as statsmodels
    # is for ETS: the times are of fitting and forecasting, not imports.
    from sklearn import ensemble  # noqa: F401

    values = np.asarray(values, dtype=np.float64)
    values = np.where(np.isfinite(values), values, np.nan)
    n_series, length = values.shape
    test_start, origins = split(length, step, horizon, test_frac, stride)
    train = values[:, :test_start]
    input_names, exog = inputs if inputs else ((), None)
    if exog is not None:
        exog = np.asarray(exog, dtype=np.float64)
        if exog.ndim != 3 or exog.shape[0] != n_series or \
                exog.shape[2] != length:
            raise BenchError(
                reason="inputs have shape %s, the series %s"
                % (exog.shape, values.shape))
        # Inf becomes NaN in the forecaster's own check of its inputs.
    train_exog = None if exog is None else exog[:, :, :test_start]
    day = max(1, int(round(86400.0 / step)))
    methods = list(methods or ('irra', 'naive', 'seasonal_naive', 'ets',
                               'gbm_uncalibrated'))
    target = origins[:, None] + np.arange(horizon)[None, :]
    actual = values[:, target]
    scale = _mase_scale(train)
    total = origins.size * len(methods)
    done = 0
    out = {}
    extra = {}
    naive = baselines.NaiveForecaster(step, horizon, level=level,
                                      floor=floor)
    naive_point = naive._paths(values, origins)
    naive_point = np.where(np.isfinite(naive_point), naive_point, 0.0)
    for name in methods:
        LOG.info('bench: %s on %d series', name, n_series)
        rows = slice(None)
        info = {}
        with PeakRSS() as rss:
            if name in ('irra', 'naive', 'seasonal_naive'):
                if name == 'irra':
                    f = make_irra()
                elif name == 'naive':
                    f = copy.deepcopy(naive)
                else:
                    f = baselines.SeasonalNaiveForecaster(
                        step, horizon, level=level, season=day,
                        floor=floor)
                f.epoch_known = epoch_known
                ex = train_exog if name == 'irra' else None
                t0 = time.perf_counter()
                f.fit(train, start, exog=ex)
                fit_s = time.perf_counter() - t0
                fc_model = copy.deepcopy(f)
                t0 = time.perf_counter()
                fc_model.predict(train, start, exog=ex)
                forecast_s = time.perf_counter() - t0
                del fc_model
                if ex is not None:
                    # The rolling forecasts read the inputs of the whole
                    # trace, each only before its origin.
                    f._exog = f._check_exog(exog, values)
                t0 = time.perf_counter()
                point, lower, upper = _rolling(
                    f, values, origins, horizon, floor,
                    progress=progress, done=done, total=total)
                predict_s = time.perf_counter() - t0
                if name == 'irra' and hasattr(f, 'chosen_names'):
                    names = f.chosen_names()
                    info['chosen'] = {n: names.count(n)
                                      for n in sorted(set(names))}
                info['model'] = f.name
            elif name == 'gbm_uncalibrated':
                f = gbm_mod.GBMForecaster(
                    step, horizon, level=level, quantiles=True, seed=seed,
                    floor=floor, quantile_iter=REFERENCE_BAND['iter'],
                    quantile_rows=REFERENCE_BAND['rows'])
                f.epoch_known = epoch_known
                t0 = time.perf_counter()
                f._start = start
                # The same point model as irra's gbm (the same training
                # budget for this many series), without the conformal
                # step, and the reference band (REFERENCE_BAND).
                f._n_now = n_series
                f._train_on(f._check_history(train), start, test_start)
                fit_s = time.perf_counter() - t0
                t0 = time.perf_counter()
                f.raw_quantiles(train, np.array([test_start]))
                forecast_s = time.perf_counter() - t0
                t0 = time.perf_counter()
                point, lower, upper = f.raw_quantiles(values, origins)
                predict_s = time.perf_counter() - t0
                bad = ~np.isfinite(point)
                point, lower, upper = (np.where(bad, 0.0, a) for a in
                                       (point, lower, upper))
                point, lower, upper = (np.maximum(a, floor) for a in
                                       (point, lower, upper))
            elif name == 'ets':
                (idx, point, lower, upper, fit_s,
                 predict_s) = _ets(train, values, origins, horizon, level,
                                   ets_sample, seed)
                forecast_s = predict_s / max(origins.size, 1)
                if idx.size < n_series:
                    factor = n_series / float(idx.size)
                    info['fitted_series'] = int(idx.size)
                    info['measured_fit_s'] = round(fit_s, 3)
                    info['extrapolated'] = (
                        'fit time measured on %d of %d series and scaled '
                        'linearly; scores over those %d series'
                        % (idx.size, n_series, idx.size))
                    fit_s *= factor
                    predict_s *= factor
                    forecast_s *= factor
                rows = idx
                point, lower, upper = (np.maximum(a, floor) for a in
                                       (point, lower, upper))
            else:
                raise BenchError(reason="unknown method %s" % name)
        scores = _score(actual[rows], point, lower, upper,
                        naive_point[rows], level, scale[rows])
        scores.update(fit_s=round(fit_s, 3), predict_s=round(predict_s, 3),
                      forecast_s=round(forecast_s, 3),
                      peak_rss_mb=round(rss.peak, 1))
        scores.update(info)
        out[name] = scores
        extra[name] = fit_s + forecast_s
        done += origins.size
        if progress is not None:
            progress(done, total)
    result = {
        'horizon': int(horizon),
        'level': float(level),
        'series': int(n_series),
        'steps': int(length),
        'step_s': int(step),
        'test_start_step': int(test_start),
        'test_days': int((length - test_start) // day),
        'origins': int(origins.size),
        'inputs': list(input_names),
        'methods': out,
    }
    if 'irra' in extra and 'ets' in extra:
        result['speed'] = {
            'irra_train_forecast_s': round(extra['irra'], 3),
            'ets_train_forecast_s': round(extra['ets'], 3),
            'ratio_ets_over_irra': round(extra['ets'] /
                                         max(extra['irra'], 1e-9), 2),
            'ets_extrapolated': 'extrapolated' in out['ets'],
        }
    return result


def _mase_scale(train):
    with np.errstate(invalid='ignore'):
        diff = np.abs(np.diff(train, axis=1))
    ok = np.isfinite(diff)
    count = ok.sum(axis=1)
    return np.where(count > 0, np.where(ok, diff, 0.0).sum(axis=1) /
                    np.maximum(count, 1), np.nan)
