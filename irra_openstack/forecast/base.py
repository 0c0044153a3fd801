"""The forecaster plugin base and the forecast it returns.

A :class:`Forecaster` forecasts many series at once: its input is a float
array ``history`` of shape (series, T), on a regular grid of ``step``
seconds starting at ``start``, with NaN (or an infinity) for a missing
value. Its output is a :class:`Forecast`: for each series and each of the
``horizon`` steps after the history, a point forecast and the bounds of an
interval at the configured ``level``.

The intervals are split-conformal (:mod:`irra_openstack.forecast.conformal`):
:meth:`Forecaster.fit` back-tests the model from rolling origins over the
most recent ``calibration_window`` steps and calibrates, per series and per
horizon step, quantiles of the residuals it made.

A concrete forecaster implements one method, :meth:`Forecaster._paths`:
point forecasts from any set of origins, for all series at once. Models
that learn parameters also override :meth:`Forecaster._fit_model`.

What happens with bad data (nothing here ever raises on data, only on
arguments):

* no finite value in a series' history: point = lower = upper =
  ``cold_start`` (0 unless the caller says otherwise), ``valid`` False;
* too few residuals to calibrate a series: its interval is borrowed from
  the other series, scaled (see :mod:`.conformal`), and ``reason`` says so;
* a series that stopped reporting: the forecast uses its last data, and
  ``reason`` says how old that is;
* arithmetic that overflows (values near the float limit): bounds are
  clipped to the largest finite float;
* always: no NaN, ``lower <= point <= upper``, and everything at least
  ``floor`` when the caller gave one (a non-negative metric: ``floor=0``).
"""

import abc
import dataclasses

import numpy as np
from oslo_config import cfg
from oslo_log import log as logging

from irra_openstack import exception
from irra_openstack.forecast import conformal
from irra_openstack import plugins

LOG = logging.getLogger(__name__)

#: Namespace of forecaster plugins.
NAMESPACE = 'irra.forecasters'

#: Default calibration window, in seconds: one week.
DEFAULT_CALIBRATION_WINDOW = 7 * 86400
#: Default most back-test origins for one calibration.
DEFAULT_MAX_ORIGINS = 200

_BIG = np.finfo(np.float64).max


class ForecastError(exception.IrraError):
    """Bad arguments to a forecaster."""

    msg_fmt = "Invalid forecast request: %(reason)s"


#: Rows checked for inf at a time by :func:`_read_only_floats`.
_CHECK_BLOCK = 1024


def _read_only_floats(array):
    """A read-only float64 version of ``array`` (ndim >= 1), NaN for inf.

    The data is copied only when it is not float64 already or has an inf
    to replace; otherwise this is a view. The check runs in blocks along
    the first axis, so it never allocates a mask of the whole array.
    """
    if array.dtype != np.float64:
        out = array.astype(np.float64)
    elif any(np.isinf(array[i:i + _CHECK_BLOCK]).any()
             for i in range(0, array.shape[0], _CHECK_BLOCK)):
        out = array.copy()
    else:
        out = array.view()
        out.setflags(write=False)
        return out
    np.copyto(out, np.nan, where=np.isinf(out))
    out.setflags(write=False)
    return out


def _readonly(array):
    array = np.array(array, dtype=np.float64 if array.dtype.kind != 'b'
                     else bool, copy=True)
    array.setflags(write=False)
    return array


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class Forecast:
    """Point forecasts and intervals for several series.

    :param series: identifier of each series (resource ids, or their
        indexes as strings).
    :param metric: the metric forecast, or None when not known.
    :param start: time of the first forecast step (seconds); it is the
        end of the history, ``history start + T * step``.
    :param step: seconds between steps.
    :param level: nominal coverage of ``[lower, upper]``.
    :param point: float array (series, horizon).
    :param lower: float array (series, horizon).
    :param upper: float array (series, horizon).
    :param valid: bool array (series,); False when the series could not
        be forecast from its own data (see the module doc for the
        fallback values).
    :param reason: per series, '' or what went wrong or was degraded
        (for example, the interval was borrowed from other series). A
        valid series may have a reason: it is then a caveat.
    :param model: name of the forecaster that made this forecast.

    The arrays are read-only, finite, and ``lower <= point <= upper``.
    """

    series: tuple
    metric: str
    start: int
    step: int
    level: float
    point: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    valid: np.ndarray
    reason: tuple
    model: str

    def __post_init__(self):
        set_ = object.__setattr__
        set_(self, 'series', tuple(str(s) for s in self.series))
        set_(self, 'reason', tuple(str(r) for r in self.reason))
        for name in ('point', 'lower', 'upper'):
            set_(self, name, _readonly(np.asarray(getattr(self, name))))
        set_(self, 'valid', _readonly(np.asarray(self.valid, dtype=bool)))
        shape = (len(self.series), self.point.shape[-1]
                 if self.point.ndim == 2 else -1)
        for name in ('point', 'lower', 'upper'):
            if getattr(self, name).shape != shape:
                raise ForecastError(
                    reason="%s has shape %s, expected %s"
                    % (name, getattr(self, name).shape, shape))
        if self.valid.shape != (shape[0],) or len(self.reason) != shape[0]:
            raise ForecastError(
                reason="valid and reason must have one entry per series")

    @property
    def n_series(self):
        return self.point.shape[0]

    @property
    def horizon(self):
        """Number of forecast steps."""
        return self.point.shape[1]

    @property
    def end(self):
        """Time just after the last forecast step."""
        return self.start + self.horizon * self.step

    @property
    def times(self):
        """Start time of every forecast step, int64 (horizon,)."""
        return self.start + self.step * np.arange(self.horizon,
                                                  dtype=np.int64)

    def __repr__(self):
        return ('<Forecast %s: %d series x %d steps of %ds from %d, '
                'level %.3g, %d invalid>'
                % (self.model, self.n_series, self.horizon, self.step,
                   self.start, self.level,
                   self.n_series - int(self.valid.sum())))


def calibration_opts():
    """The conformal calibration options every forecaster has."""
    return [
        cfg.IntOpt(
            'calibration_window',
            default=DEFAULT_CALIBRATION_WINDOW,
            min=0,
            help='How much of the most recent history, in seconds, the '
                 'forecast intervals are calibrated on (rolling-origin '
                 'back-test residuals). 0 means all the history given.'),
        cfg.IntOpt(
            'min_residuals',
            default=conformal.MIN_RESIDUALS,
            min=1,
            help='Fewest back-test residuals a series needs at a horizon '
                 'step to get its own interval; a series with fewer '
                 'borrows the interval of all series, scaled to its own '
                 'variability. It is raised to what the confidence level '
                 'needs (19 at 0.9, 39 at 0.95).'),
    ]


class Forecaster(plugins.Plugin):
    """Base of the forecaster plugins (namespace ``irra.forecasters``).

    :param step: seconds between steps of the series.
    :param horizon: number of steps to forecast, at least 1.
    :param level: nominal coverage of the intervals, in (0, 1).
    :param season: length of the main seasonal cycle in steps; 0 for none.
    :param history: steps of history the caller means to fit on (the
        ``[forecast] history`` option), to check that ``season`` and
        ``horizon`` fit in it; None to skip that check.
    :param calibration_window: steps of the most recent history whose
        values are the targets of the calibration back-test; None for one
        week, 0 for all of it.
    :param min_residuals: see :class:`.conformal.ConformalCalibrator`.
    :param max_origins: most back-test origins per calibration (they are
        spread evenly); bounds the work at ``series x max_origins x
        horizon``.
    :param floor: when not None, every value of a forecast is raised to
        at least this (``0.0`` for a non-negative metric).
    :param cold_start: the value forecast, with a zero-width interval,
        for a series without any finite value.
    """

    def __init__(self, step, horizon, level=0.9, season=0, history=None,
                 calibration_window=None,
                 min_residuals=conformal.MIN_RESIDUALS,
                 max_origins=DEFAULT_MAX_ORIGINS, floor=None,
                 cold_start=0.0):
        self.step = _whole('step', step, 1)
        self.horizon = _whole('horizon', horizon, 1)
        self.season = _whole('season', season, 0)
        try:
            self.level = float(level)
        except (TypeError, ValueError):
            self.level = float('nan')
        if not 0.0 < self.level < 1.0:
            raise ForecastError(
                reason="level must be between 0 and 1 (exclusive), for "
                       "example 0.9; got %r" % (level,))
        if history is not None:
            history = _whole('history', history, 1)
            if self.season > history:
                raise ForecastError(
                    reason="the season (%d steps) is longer than the "
                           "history (%d steps): give at least one season "
                           "of history, or set season to 0"
                           % (self.season, history))
            if self.horizon > history:
                raise ForecastError(
                    reason="the horizon (%d steps) is longer than the "
                           "history (%d steps)" % (self.horizon, history))
        self.history = history
        if calibration_window is None:
            calibration_window = max(
                1, DEFAULT_CALIBRATION_WINDOW // self.step)
        self.calibration_window = _whole(
            'calibration_window', calibration_window, 0)
        self.max_origins = _whole('max_origins', max_origins, 1)
        self.min_residuals = _whole('min_residuals', min_residuals, 1)
        self.floor = None if floor is None else _finite('floor', floor)
        self.cold_start = _finite('cold_start', cold_start)
        if self.floor is not None:
            self.cold_start = max(self.cold_start, self.floor)
        self.calibrator = None
        #: Whether ``start`` is POSIX time (calendar features); set from
        #: the frame by :meth:`predict_frame`.
        self.epoch_known = True
        #: Exogenous series (S, K, T) and start of the current call.
        self._exog = None
        self._start = 0
        #: Step of the ACI update of the interval levels (0: static).
        self.aci_gamma = conformal.ACI_GAMMA

    #: Whether the model uses exogenous input series (see :meth:`fit`).
    uses_exog = False

    @classmethod
    def get_config_opts(cls):
        return calibration_opts()

    def __repr__(self):
        return ('<%s step=%ds horizon=%d level=%g season=%d>'
                % (type(self).__name__, self.step, self.horizon,
                   self.level, self.season))

    # -- what a model provides --------------------------------------------

    @abc.abstractmethod
    def _paths(self, history, origins):
        """Point forecasts from several origins, for all series.

        :param history: float array (series, T), NaN for missing (never
            infinite).
        :param origins: int array (n,), each in ``1 .. T``; the forecast
            from origin ``o`` uses only ``history[:, :o]`` and is for
            steps ``o .. o + horizon - 1``.
        :returns: float array (series, n, horizon); NaN where the model
            has nothing to go on (no finite value before ``o``).
        """

    def _paths_band(self, history, origins, series=None):
        """Point forecasts and, when the model has one, their band.

        :param series: indexes of the series to forecast (rows of
            ``history``); all by default.

        :returns: ``(paths, w_lo, w_hi)``, each (series, n, horizon):
            the paths of :meth:`_paths`, and the half-widths of the
            model's own band below and above them (for example from its
            quantile models), or ``None, None`` for a model without one.
            With a band, the intervals are calibrated by
            :class:`.conformal.NormalisedCalibrator` (scaled row by row),
            otherwise by :class:`.conformal.ConformalCalibrator`.
        """
        if series is not None:
            history = history[series]
        return self._paths(history, origins), None, None

    def _backtest_series(self, n_series):
        """Series the calibration back-test runs on; None for all."""
        return None

    def _fit_model(self, history, start):
        """Learn parameters from ``history``; baselines have none.

        A model that learns must keep the calibration residuals out of
        sample, for example by fitting on steps before the calibration
        window.
        """

    def _warmup(self):
        """Fewest steps of history the model needs to work fully.

        The calibration back-test skips origins before this when the
        history is long enough.
        """
        return 1

    def _notes(self, history):
        """Caveats about the forecast from ``history``, for ``reason``.

        :returns: a list of ``(mask, text)``, mask a bool array (series,).
        """
        return []

    # -- the interface ----------------------------------------------------

    def _after_calibration(self, history, start):
        """Hook run after the calibration, e.g. to refit on all data."""

    def fit(self, history, start, exog=None):
        """Fit on ``history`` (series, T) and calibrate the intervals.

        :param history: float array (series, T) or (T,); NaN or inf for a
            missing value.
        :param start: time of ``history[:, 0]``, in seconds.
        :param exog: optional float array (series, K, T) of K exogenous
            input series per series on the same grid (application metrics
            such as the request rate, or user-behaviour signals); used by
            the models whose :attr:`uses_exog` is true, ignored by the
            others.
        :returns: self.
        """
        history = self._check_history(history)
        start = _whole('start', start, None)
        self._exog = self._check_exog(exog, history)
        self._start = start
        self._fit_model(history, start)
        self.calibrator = self._calibrate(history)
        self.calibrator.gamma = self.aci_gamma
        self._after_calibration(history, start)
        return self

    def update(self, actuals, forecast):
        """Adapt the intervals to the actual values of a past forecast.

        An ACI step (adaptive conformal inference) per series, horizon
        step and side, then the new residuals join the calibration set;
        see :meth:`.conformal.ConformalCalibrator.update`. Call it once per
        forecast, when its actuals are known (NaN for the unknown ones).

        :param actuals: float array (series, horizon).
        :param forecast: the :class:`Forecast` (or a ``(point, lower,
            upper)`` tuple) they are the outcome of.
        :returns: self.
        """
        if self.calibrator is None:
            raise ForecastError(reason="fit the forecaster before updating "
                                       "its intervals")
        if isinstance(forecast, Forecast):
            point, lower, upper = forecast.point, forecast.lower, \
                forecast.upper
        else:
            point, lower, upper = forecast
        actuals = np.array(actuals, dtype=np.float64, ndmin=2)
        if actuals.shape != np.shape(point):
            raise ForecastError(
                reason="actuals have shape %s, the forecast %s"
                % (actuals.shape, np.shape(point)))
        self.calibrator.update(actuals, point, lower, upper)
        return self

    def predict(self, history, start, series=None, metric=None,
                exog=None):
        """Forecast the ``horizon`` steps after the end of ``history``.

        Uses the calibration of the last :meth:`fit`, which must have been
        on the same series; without one, fits on ``history`` first.

        :param history: as for :meth:`fit`.
        :param start: time of ``history[:, 0]``.
        :param series: identifiers of the series; by default their
            indexes.
        :param metric: name of the metric, for the record.
        :returns: a :class:`Forecast` starting at ``start + T * step``.
        """
        history = self._check_history(history)
        start = _whole('start', start, None)
        n_series, length = history.shape
        if series is None:
            series = [str(i) for i in range(n_series)]
        elif len(series) != n_series:
            raise ForecastError(
                reason="%d series names for %d series"
                % (len(series), n_series))
        if self.calibrator is None:
            self.fit(history, start, exog=exog)
        elif self.calibrator.n_series != n_series:
            raise ForecastError(
                reason="the forecaster was fitted on %d series but is "
                       "asked to forecast %d; fit it on these series first"
                       % (self.calibrator.n_series, n_series))
        self._exog = self._check_exog(exog, history)
        self._start = start
        point, lower, upper = self.intervals(history, np.array([length]))
        point, lower, upper = point[:, 0], lower[:, 0], upper[:, 0]
        return self._finish(history, start + length * self.step, point,
                            lower, upper, series, metric)

    def intervals(self, history, origins):
        """Points and calibrated bounds from several origins at once.

        Uses the current calibration (and ACI state) for every origin:
        for a rolling evaluation, call :meth:`update` between origins
        instead. ``history`` is a checked float array (series, T).

        :returns: ``(point, lower, upper)``, each (series, n, horizon);
            NaN where the model has nothing to go on.
        """
        n_series = history.shape[0]
        origins = np.asarray(origins, dtype=np.int64)
        shape = (n_series, origins.size, self.horizon)
        if history.shape[1] == 0 or origins.size == 0:
            nan = np.full(shape, np.nan)
            return nan, nan.copy(), nan.copy()
        point, w_lo, w_hi = self._paths_band(history, origins)
        lower = np.empty(shape)
        upper = np.empty(shape)
        for i in range(origins.size):
            lower[:, i], upper[:, i] = self.calibrator.interval(
                point[:, i], None if w_lo is None else w_lo[:, i],
                None if w_hi is None else w_hi[:, i])
        return point, lower, upper

    def predict_frame(self, frame, metric, inputs=()):
        """Fit and forecast one metric of a :class:`MetricFrame`.

        The frame's step must be this forecaster's step.

        :param inputs: other metrics of the frame to use as exogenous
            inputs of each series (its own values of them); those the
            frame does not have are left out, and logged.
        """
        if frame.step != self.step:
            raise ForecastError(
                reason="the frame has %ds steps but the forecaster %ds; "
                       "regrid the frame first" % (frame.step, self.step))
        history = frame.metric(metric)
        exog = None
        if self.uses_exog and inputs:
            present = [m for m in inputs if m in frame.metrics and
                       m != metric]
            missing = [m for m in inputs if m not in frame.metrics]
            if missing:
                LOG.info('Forecasting %s without the input metrics %s: '
                         'they were not collected', metric,
                         ', '.join(missing))
            if present:
                exog = np.stack([frame.metric(m) for m in present], axis=1)
        self.epoch_known = bool(frame.epoch_known)
        self.fit(history, frame.start, exog=exog)
        return self.predict(history, frame.start, series=frame.resources,
                            metric=metric, exog=exog)

    # -- helpers ----------------------------------------------------------

    def _check_history(self, history):
        """``history`` as float (series, T), with NaN for inf.

        A float64 array with no inf is not copied (a history is hundreds
        of MB for thousands of series, and new memory is slow to touch):
        the forecaster gets a read-only view of it, so nothing it does
        can change the caller's data.
        """
        history = np.asarray(history)
        if history.dtype.kind not in 'fiub':
            raise ForecastError(
                reason="history must be numeric, got dtype %s"
                % history.dtype)
        if history.ndim == 1:
            history = history[None, :]
        if history.ndim != 2:
            raise ForecastError(
                reason="history must have shape (series, steps), got %s"
                % (history.shape,))
        return _read_only_floats(history)

    def _check_exog(self, exog, history):
        """``exog`` as float (series, K, T), or None when not used."""
        if exog is None or not self.uses_exog:
            return None
        exog = np.asarray(exog)
        if exog.dtype.kind not in 'fiub':
            raise ForecastError(
                reason="exog must be numeric, got dtype %s" % exog.dtype)
        if exog.ndim == 2:
            exog = exog[:, None, :]
        if (exog.ndim != 3 or exog.shape[0] != history.shape[0] or
                exog.shape[2] != history.shape[1]):
            raise ForecastError(
                reason="exog must have shape (series, K, steps) = (%d, K, "
                       "%d), got %s" % (history.shape[0], history.shape[1],
                                        exog.shape))
        return _read_only_floats(exog)

    def _origins(self, length):
        """Evenly spread back-test origins for a history of ``length``."""
        window = self.calibration_window or length
        first = max(1, length - window - self.horizon + 1)
        warmup = self._warmup()
        if length - warmup > self.horizon:
            # Enough history: do not calibrate on origins where the
            # model cannot yet work as it will at the end of the history.
            first = max(first, warmup)
        last = length - 1
        if last < first:
            return np.zeros(0, dtype=np.int64)
        count = last - first + 1
        if count <= self.max_origins:
            return np.arange(first, last + 1, dtype=np.int64)
        # Keep the most recent origin; spread the others evenly before it.
        return np.unique(np.round(np.linspace(
            first, last, self.max_origins)).astype(np.int64))

    def _calibrate(self, history):
        """Back-test from rolling origins and calibrate the intervals."""
        n_series, length = history.shape
        origins = self._origins(length)
        w_lo = w_hi = None
        if origins.size:
            sample = self._backtest_series(n_series)
            paths, w_lo, w_hi = self._paths_band(history, origins,
                                                 series=sample)
            if sample is not None:
                paths, w_lo, w_hi = (
                    None if a is None else _spread(a, sample, n_series)
                    for a in (paths, w_lo, w_hi))
            target = origins[:, None] + np.arange(self.horizon)[None, :]
            inside = target < length
            actual = np.full((n_series,) + target.shape, np.nan)
            actual[:, inside] = history[:, target[inside]]
            with np.errstate(invalid='ignore', over='ignore'):
                residuals = actual - paths
        else:
            residuals = np.full((n_series, 0, self.horizon), np.nan)
        if self._has_band():
            if w_lo is None:
                w_lo = w_hi = np.ones_like(residuals)
            return conformal.NormalisedCalibrator(
                self.level, min_residuals=self.min_residuals).calibrate(
                    residuals, w_lo, w_hi, point=paths if origins.size
                    else None, floor=self.floor)
        window = self.calibration_window or length
        scale = conformal.series_scale(history[:, -(window + 1):])
        calibrator = conformal.ConformalCalibrator(
            self.level, min_residuals=self.min_residuals)
        return calibrator.calibrate(residuals, scale)

    def _has_band(self):
        """Whether :meth:`_paths_band` gives a band (after fitting)."""
        return False

    def _finish(self, history, start, point, lower, upper, series, metric):
        """Apply the fallbacks and invariants, and build the Forecast."""
        n_series, length = history.shape
        finite = np.isfinite(history)
        has_data = finite.any(axis=1)
        notes = []       # (mask, text): vectorised over series

        no_data = ~has_data
        notes.append((no_data, 'no finite value in the history: the '
                      'cold-start value %g is used' % self.cold_start))
        # The model gave nothing (NaN) although there is data: a bug in
        # the model or a degenerate history; do not pass NaN on.
        bad = has_data & ~np.isfinite(point).all(axis=1)
        notes.append((bad, 'the model gave no forecast: the cold-start '
                      'value is used'))
        invalid = no_data | bad
        point = np.where(invalid[:, None], self.cold_start, point)
        lower = np.where(invalid[:, None], self.cold_start, lower)
        upper = np.where(invalid[:, None], self.cold_start, upper)

        if length:
            age = np.argmax(finite[:, ::-1], axis=1)
        else:
            age = np.zeros(n_series, dtype=np.int64)
        stale_after = max(self.horizon, self.season, 1)
        stale = has_data & (age >= stale_after)
        notes.append((stale, 'stale: the last value is older than the '
                      'horizon or season'))
        notes.extend((mask & ~invalid, text)
                     for mask, text in self._notes(history))
        cal = self.calibrator
        notes.append((~invalid & cal.pooled & ~cal.under_calibrated,
                      'too few residuals: interval borrowed from all '
                      'series'))
        notes.append((~invalid & cal.under_calibrated,
                      'too little history to calibrate the interval at '
                      'the nominal level'))

        with np.errstate(invalid='ignore'):
            overflow = ~(np.isfinite(lower) & np.isfinite(upper)).all(axis=1)
        notes.append((~invalid & overflow, 'values too large: bounds '
                      'clipped to the float range'))
        point = np.clip(np.nan_to_num(point, nan=self.cold_start), -_BIG,
                        _BIG)
        lower = np.nan_to_num(lower, nan=-_BIG, posinf=_BIG, neginf=-_BIG)
        upper = np.nan_to_num(upper, nan=_BIG, posinf=_BIG, neginf=-_BIG)
        if self.floor is not None:
            point = np.maximum(point, self.floor)
            lower = np.maximum(lower, self.floor)
            upper = np.maximum(upper, self.floor)
        lower = np.minimum(lower, point)
        upper = np.maximum(upper, point)

        reason = np.full(n_series, '', dtype=object)
        counts = []
        for mask, text in notes:
            count = int(mask.sum())
            if not count:
                continue
            counts.append('%d %s' % (count, text.split(':')[0]))
            reason[mask] = np.where(reason[mask] == '', text,
                                    reason[mask] + '; ' + text)
        if counts:
            LOG.info('%s forecast of %d series (%s): %s', self.name,
                     n_series, metric or 'metric', ', '.join(counts))
        return Forecast(series=series, metric=metric, start=start,
                        step=self.step, level=self.level, point=point,
                        lower=lower, upper=upper, valid=~invalid,
                        reason=tuple(reason), model=self.name)


def _whole(name, value, minimum):
    """``value`` as an int, checked to be whole and >= ``minimum``."""
    try:
        number = int(value)
        whole = number == value
    except (TypeError, ValueError, OverflowError):
        whole = False
    if isinstance(value, bool) or not whole:
        raise ForecastError(reason="%s must be a whole number, got %r"
                            % (name, value))
    if minimum is not None and number < minimum:
        raise ForecastError(
            reason="%s must be %s, got %d"
            % (name, 'positive' if minimum == 1 else
               'at least %d' % minimum, number))
    return number


def _finite(name, value):
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float('nan')
    if not np.isfinite(number):
        raise ForecastError(reason="%s must be a finite number, got %r"
                            % (name, value))
    return number


def input_metrics(metric, cpu_metric, memory_metric, cpu_as_memory_input):
    """The other metrics the service forecasts ``metric`` with.

    Memory is forecast with the VM's CPU use as an input when
    ``cpu_as_memory_input`` (``[planning] cpu_as_memory_input``); CPU
    from its own history.
    """
    if metric == memory_metric and cpu_as_memory_input:
        return [cpu_metric]
    return []


def _spread(values, series, n_series):
    """(len(series), ...) rows into an (n_series, ...) array, NaN else."""
    out = np.full((n_series,) + values.shape[1:], np.nan)
    out[series] = values
    return out


def from_conf(conf, name=None, floor=None, cold_start=0.0):
    """Build the configured forecaster from ``conf``.

    Reads ``[forecast]`` (seconds, converted to steps here) and the
    plugin's own group ``[forecasters.<name>]``, registering it if needed.
    A plugin that combines other forecasters (``auto``, with a
    ``candidates`` option) builds each of them with the options of its
    own group too (``[forecasters.gbm] threads`` applies to auto's gbm),
    except its calibration window and least residuals: the candidates
    are back-tested on the combining forecaster's window.

    :param name: the plugin; by default ``[forecast] forecaster``.
    """
    fc = conf.forecast
    name = name or fc.forecaster
    step = fc.step
    for option in ('horizon', 'history', 'season'):
        if getattr(fc, option) % step:
            raise ForecastError(
                reason="[forecast] %s (%ds) must be a whole multiple of "
                       "[forecast] step (%ds)"
                       % (option, getattr(fc, option), step))
    kwargs = _plugin_kwargs(conf, name, step)
    candidates = kwargs.get('candidates')
    if candidates:
        kwargs['candidate_kwargs'] = {
            c: _plugin_kwargs(conf, c, step, own_window=False)
            for c in candidates}
    return plugins.load(
        NAMESPACE, name, base=Forecaster, step=step,
        horizon=fc.horizon // step, level=fc.level,
        season=fc.season // step, history=fc.history // step,
        floor=floor, cold_start=cold_start, **kwargs)


def _plugin_kwargs(conf, name, step, own_window=True):
    """Constructor arguments of plugin ``name`` from its option group.

    Seconds become steps for the windows. Without ``own_window``, the
    calibration window and least residuals are left out.
    """
    group = plugins.register_plugin_opts(conf, NAMESPACE, name,
                                         base=Forecaster)
    kwargs = {}
    if group is None:
        return kwargs
    if own_window:
        window = getattr(group, 'calibration_window', None)
        if window is not None:
            kwargs['calibration_window'] = window // step
        if getattr(group, 'min_residuals', None) is not None:
            kwargs['min_residuals'] = group.min_residuals
    cls = plugins.load_class(NAMESPACE, name, base=Forecaster)
    for opt in cls.get_config_opts():
        if opt.dest in ('calibration_window', 'min_residuals'):
            continue
        value = getattr(group, opt.dest, None)
        if value is None:
            continue
        if opt.dest.endswith('_window'):
            value = value // step
        kwargs[opt.dest] = value
    return kwargs
