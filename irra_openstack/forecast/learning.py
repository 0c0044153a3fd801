"""Continuous learning: retraining, live accuracy, and fallback models.

Retraining
----------
:func:`needs_retrain` is true when a model has never been trained on a
data set, or when ``[forecast_learning] retrain_interval`` seconds have
passed since its last training. :meth:`ContinuousLearner.maybe_retrain`
fits the models that need it, saves each fitted model as a new version in
the :class:`.registry.ModelRegistry` and records the version in the
database (``forecast_model_versions``). After a restart,
:meth:`ContinuousLearner.restore` loads the newest saved versions, so the
schedule continues where it stopped.

Live accuracy
-------------
Every forecast handed out is kept (:class:`AccuracyTracker`) with the
naive forecast of the same origin (the last finite value of the history it
was made from). When the actual values of its steps arrive, it is scored
and one row is stored in ``forecast_accuracy``, with sums over its finite
(series, step) cells of ``|y - point|``, ``|y - naive|``, the number of
values inside ``[lower, upper]`` and of ``upper - lower``. Rolling figures
over the last ``accuracy_window`` seconds are exact ratios of those sums
(:func:`irra_openstack.db.forecast_api.accuracy_rolling`):

    MAE = sum |y - point| / n,   relMAE = sum |y - point| / sum |y - naive|,
    coverage = #(lower <= y <= upper) / n.

Fallback
--------
A model is *degraded* when, over at least ``min_points`` values in the
window, its relMAE exceeds ``max_rel_mae`` or its coverage is below
``[forecast] level - coverage_margin``. :meth:`ContinuousLearner.select`
walks ``fallback_chain`` (for example ``auto, seasonal_naive, naive``) and
takes the first model that is not degraded; the last one is always
accepted. Every model in the chain up to the one in use keeps forecasting
and being scored, so the engine climbs back when a better model recovers.
Each change is logged once, with the figures, for example::

    Forecaster auto degraded on azure/cpu: relMAE 1.43 > 1.10 over 960
    values; using seasonal_naive

A model that raises while fitting or forecasting is skipped the same way
(logged), so a forecast is always handed on, from the last model if need
be; and a :class:`.base.Forecast` is never NaN.
"""

import datetime

import numpy as np
from oslo_log import log as logging

from irra_openstack.db import forecast_api
from irra_openstack.forecast import base
from irra_openstack.forecast import baselines
from irra_openstack.forecast import registry as registry_mod

LOG = logging.getLogger(__name__)


def to_datetime(seconds):
    """POSIX seconds as a naive UTC datetime (the database's times)."""
    return datetime.datetime.fromtimestamp(
        int(seconds), tz=datetime.timezone.utc).replace(tzinfo=None)


def to_seconds(when):
    """A naive UTC datetime as POSIX seconds."""
    return int(when.replace(tzinfo=datetime.timezone.utc).timestamp())


def needs_retrain(now, last_trained, interval):
    """Whether a model last trained at ``last_trained`` is due.

    :param now: POSIX seconds.
    :param last_trained: POSIX seconds, or None for never.
    :param interval: seconds between trainings; 0 means always.
    """
    if last_trained is None or interval <= 0:
        return True
    return now - last_trained >= interval


def assess(figures, level, min_points, max_rel_mae, coverage_margin):
    """Whether rolling ``figures`` say the model is degraded, and why.

    :param figures: a dict from
        :func:`irra_openstack.db.forecast_api.accuracy_rolling`.
    :returns: ``(degraded, why)``; ``why`` is one line with the numbers.
    """
    n = figures['n_points']
    if n < min_points:
        return False, 'only %d of %d values needed to judge' % (
            n, min_points)
    problems = []
    rel = figures['rel_mae']
    if rel is not None and rel > max_rel_mae:
        problems.append('relMAE %.2f > %.2f' % (rel, max_rel_mae))
    floor = level - coverage_margin
    if figures['coverage'] is not None and figures['coverage'] < floor:
        problems.append('coverage %.3f < %.3f' % (figures['coverage'],
                                                  floor))
    figures_text = 'relMAE %s, coverage %.3f' % (
        'n/a' if rel is None else '%.2f' % rel, figures['coverage'])
    if problems:
        return True, '%s over %d values' % (', '.join(problems), n)
    return False, '%s over %d values' % (figures_text, n)


class AccuracyTracker(object):
    """Forecasts waiting for their actuals, scored into the database.

    :param data_set: the data set name stored with every evaluation.
    :param max_age: seconds after its end after which a forecast that was
        never fully observed is scored on what there is, and dropped.
    :param context: an enginefacade context, or None.
    """

    def __init__(self, data_set, max_age=7 * 86400, context=None):
        self.data_set = str(data_set)
        self.max_age = int(max_age)
        self.context = context
        self.pending = []

    def record(self, forecast, history, model_version=None,
               model_name=None):
        """Keep ``forecast`` until its actuals arrive.

        :param history: the history (series, T) it was made from, for
            the naive forecast of the same origin.
        :param model_name: the name to score it under; by default
            ``forecast.model``.
        """
        history = np.asarray(history, dtype=np.float64)
        naive = np.full(forecast.n_series, np.nan)
        if history.ndim == 2 and history.shape[1]:
            last = baselines.last_finite_at(
                history, [history.shape[1] - 1])[:, 0]
            values = history[np.arange(history.shape[0]),
                             np.maximum(last, 0)]
            naive = np.where(last >= 0, values, np.nan)
        self.pending.append((forecast, naive, model_version,
                             model_name or forecast.model))

    def observe(self, series, values, start, step):
        """Score the pending forecasts that ``values`` cover.

        :param series: identifiers of the rows of ``values``.
        :param values: float array (series, T) of actual values, NaN
            for missing, the first at time ``start``.
        :param step: seconds between values.
        :returns: the stored rows (dicts).
        """
        values = np.asarray(values, dtype=np.float64)
        index = {str(s): i for i, s in enumerate(series)}
        end = start + values.shape[1] * step
        stored, keep = [], []
        for item in self.pending:
            forecast = item[0]
            done = end >= forecast.end
            stale = end - forecast.end >= self.max_age
            if not (done or stale):
                keep.append(item)
                continue
            row = self._score(*item, index=index, values=values,
                              start=start, step=step)
            if row is not None:
                stored.append(row)
        self.pending = keep
        return stored

    def _score(self, forecast, naive, version, name, index, values, start,
               step):
        rows = np.array([index.get(s, -1) for s in forecast.series])
        cols = (forecast.times - start) // step
        on_grid = ((forecast.times - start) % step == 0) & (cols >= 0) & \
            (cols < values.shape[1])
        actual = np.full(forecast.point.shape, np.nan)
        ok_rows = rows >= 0
        if ok_rows.any() and on_grid.any():
            sub = values[rows[ok_rows]][:, cols[on_grid]]
            actual[np.ix_(ok_rows, on_grid)] = sub
        known = np.isfinite(actual)
        n = int(known.sum())
        if n == 0:
            LOG.info('No actual value for the %s forecast of %d series '
                     'from %d on %s: not scored', name, forecast.n_series,
                     forecast.start, self.data_set)
            return None
        y = np.where(known, actual, 0.0)
        err = np.where(known, np.abs(y - forecast.point), 0.0)
        # A series without a naive forecast (no history when forecast)
        # counts with the model's own error: neutral for relMAE.
        naive_err = np.where(np.isfinite(naive)[:, None],
                             np.abs(y - naive[:, None]), err)
        naive_err = np.where(known, naive_err, 0.0)
        inside = known & (forecast.lower <= y) & (y <= forecast.upper)
        width = np.where(known, forecast.upper - forecast.lower, 0.0)
        steps = np.flatnonzero(known.any(axis=0))
        times = forecast.times
        values_row = {
            'model_name': name,
            'model_version': None if version is None else str(version),
            'data_set': self.data_set,
            'metric': forecast.metric,
            'level': float(forecast.level),
            'window_start': to_datetime(times[steps[0]]),
            'window_end': to_datetime(times[steps[-1]]),
            'n_points': n,
            'abs_error_sum': float(err.sum()),
            'naive_abs_error_sum': float(naive_err.sum()),
            'n_inside': int(inside.sum()),
            'width_sum': float(width.sum()),
        }
        return forecast_api.accuracy_add(values_row, context=self.context)


class ContinuousLearner(object):
    """Retrains, scores and falls back along the chain, for one data set.

    :param conf: the configuration (``[forecast]`` and
        ``[forecast_learning]``).
    :param data_set: what the models forecast, e.g. ``region-1/cpu``.
    :param make_forecaster: callable ``name -> Forecaster``; by default
        :func:`.base.from_conf` with ``floor``.
    :param registry: a :class:`.registry.ModelRegistry`; by default the
        configured one.
    :param floor: passed to :func:`.base.from_conf`.
    :param context: an enginefacade context, or None.
    """

    def __init__(self, conf, data_set, make_forecaster=None, registry=None,
                 floor=None, context=None):
        self.conf = conf
        self.opts = conf.forecast_learning
        self.data_set = str(data_set)
        self.chain = [str(n) for n in self.opts.fallback_chain]
        if not self.chain:
            raise base.ForecastError(
                reason="[forecast_learning] fallback_chain is empty")
        self.make_forecaster = make_forecaster or (
            lambda name: base.from_conf(conf, name, floor=floor))
        self.registry = registry or registry_mod.ModelRegistry.from_conf(
            conf)
        self.context = context
        self.tracker = AccuracyTracker(data_set, context=context)
        self.models = {}        # name -> fitted Forecaster
        self.versions = {}      # name -> version number
        self.trained_at = {}    # name -> POSIX seconds
        self.active = self.chain[0]
        self.failed = {}        # name -> why it failed last

    def restore(self):
        """Load the newest saved version of every model of the chain.

        :returns: the names loaded.
        """
        loaded = []
        for name in self.chain:
            try:
                model, meta = self.registry.load(name, self.data_set)
            except registry_mod.RegistryError as exc:
                LOG.debug('No usable saved %s for %s: %s', name,
                          self.data_set, exc)
                continue
            if not isinstance(model, base.Forecaster):
                LOG.warning('Saved %s for %s is not a forecaster: ignored',
                            name, self.data_set)
                continue
            created = datetime.datetime.strptime(
                meta['created_at'], '%Y-%m-%dT%H:%M:%S.%fZ')
            self.models[name] = model
            self.versions[name] = meta['version']
            self.trained_at[name] = to_seconds(created)
            loaded.append(name)
        return loaded

    def _in_use(self):
        """The chain up to and including the active model."""
        return self.chain[:self.chain.index(self.active) + 1]

    def needs_retrain(self, name, now):
        return needs_retrain(now, self.trained_at.get(name),
                             self.opts.retrain_interval)

    def maybe_retrain(self, now, history, start):
        """Fit and save the models in use that are due.

        :param now: POSIX seconds.
        :param history: float array (series, T).
        :param start: time of ``history[:, 0]``.
        :returns: the names retrained.
        """
        done = []
        for name in self._in_use():
            if self.needs_retrain(name, now):
                if self._train(name, now, history, start):
                    done.append(name)
        return done

    def _train(self, name, now, history, start):
        try:
            forecaster = self.make_forecaster(name)
            forecaster.fit(history, start)
        except Exception as exc:
            self._failed(name, 'training failed: %s' % exc)
            return False
        step = forecaster.step
        length = np.asarray(history).shape[-1]
        params = {'step': step, 'horizon': forecaster.horizon,
                  'level': forecaster.level, 'season': forecaster.season,
                  'calibration_window': forecaster.calibration_window}
        self.models[name] = forecaster
        self.trained_at[name] = int(now)
        self.failed.pop(name, None)
        try:
            meta = self.registry.save(
                forecaster, name, self.data_set, parameters=params,
                training_start=start,
                training_end=start + max(length - 1, 0) * step,
                now=to_datetime(now))
        except registry_mod.RegistryError as exc:
            # The fitted model is still used; only persistence failed.
            LOG.warning('Forecaster %s on %s trained but not saved: %s',
                        name, self.data_set, exc)
            self.versions.pop(name, None)
            return True
        self.versions[name] = meta['version']
        forecast_api.model_version_create({
            'model_name': name, 'data_set': self.data_set,
            'version': meta['version'], 'parameters': params,
            'training_start': to_datetime(start),
            'training_end': to_datetime(meta['training_end']),
            'content_hash': meta['content_hash'], 'path': meta['path'],
            'library_versions': meta['library_versions'],
            'created_at': to_datetime(now)}, context=self.context)
        return True

    def _failed(self, name, why):
        if self.failed.get(name) != why:
            LOG.warning('Forecaster %s on %s: %s', name, self.data_set,
                        why)
        self.failed[name] = why

    def health(self, name, now):
        """``(degraded, why, figures)`` of a model over the window."""
        figures = forecast_api.accuracy_rolling(
            name, self.data_set,
            since=to_datetime(now - self.opts.accuracy_window),
            context=self.context)
        degraded, why = assess(
            figures, self.conf.forecast.level, self.opts.min_points,
            self.opts.max_rel_mae, self.opts.coverage_margin)
        return degraded, why, figures

    def select(self, now):
        """The model to use now: the first of the chain not degraded."""
        chosen, reasons = self.chain[-1], []
        for name in self.chain[:-1]:
            if name in self.failed:
                reasons.append('%s %s' % (name, self.failed[name]))
                continue
            degraded, why, _ = self.health(name, now)
            if not degraded:
                chosen = name
                break
            reasons.append('%s degraded: %s' % (name, why))
        if chosen != self.active:
            if self.chain.index(chosen) > self.chain.index(self.active):
                LOG.warning('Forecast on %s: %s; using %s', self.data_set,
                            '; '.join(reasons), chosen)
            else:
                LOG.info('Forecast on %s: %s is good again; using it',
                         self.data_set, chosen)
            self.active = chosen
        return chosen

    def forecast(self, now, history, start, series=None, metric=None):
        """Forecast with the selected model, and keep scoring the chain.

        Retrains what is due, selects the model, forecasts with every
        model of the chain up to the selected one (all are recorded for
        scoring) and returns the selected model's forecast. A model that
        fails is skipped to the next one.

        :returns: a :class:`.base.Forecast`.
        """
        self.maybe_retrain(now, history, start)
        self.select(now)
        history = np.asarray(history, dtype=np.float64)
        result = None
        active = self.chain.index(self.active)
        for i, name in enumerate(self.chain):
            fc = self._predict(name, now, history, start, series, metric)
            if fc is None:
                continue
            self.tracker.record(fc, history, self.versions.get(name),
                                model_name=name)
            if i >= active:
                result = fc
                break
        if result is None:
            raise base.ForecastError(
                reason="every forecaster of the fallback chain failed on "
                       "%s: %s" % (self.data_set, '; '.join(
                           '%s %s' % kv for kv in self.failed.items())))
        return result

    def _predict(self, name, now, history, start, series, metric):
        model = self.models.get(name)
        if model is None or model.calibrator is None or \
                model.calibrator.n_series != history.shape[0]:
            if model is not None:
                LOG.info('Forecaster %s on %s was fitted on other series: '
                         'retraining', name, self.data_set)
            if not self._train(name, now, history, start):
                return None
            model = self.models[name]
        try:
            fc = model.predict(history, start, series=series,
                               metric=metric)
        except Exception as exc:
            self._failed(name, 'forecast failed: %s' % exc)
            return None
        self.failed.pop(name, None)
        return fc

    def observe(self, series, values, start, step):
        """Score earlier forecasts against actual values (see tracker)."""
        return self.tracker.observe(series, values, start, step)
