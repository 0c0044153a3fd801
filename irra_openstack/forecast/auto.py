"""The auto forecaster: the best candidate model per series.

:meth:`AutoForecaster.fit` fits every candidate (by default ``naive``,
``seasonal_naive``, ``ridge`` and ``gbm``) and back-tests all of them from
the same rolling origins over the recent history (the calibration window,
out of sample for the learned models, see :mod:`.pooled`). For series
``s`` it keeps the candidate

    c*(s) = argmin_c  sum_{i, h} w_h |y[o_i + h] - yhat_c(o_i, h)|

(the back-test MAE, all horizon steps weighted equally unless the
candidate is a blend), and the intervals of series ``s`` are calibrated
on the residuals of ``c*(s)`` from the same back-test. Selection is one
``argmin`` over a (candidates, series) array: no loop per series.

To damp the noise of the selection (the back-test MAE of two candidates
can differ by chance), a candidate must beat the *default* candidate (the
first learned one, ``gbm``) by ``margin`` (relative) to be chosen over it.

Besides the candidates themselves, ``blend`` (the mean of the ridge and
gbm forecasts) is a candidate when both are: averaging two models whose
errors are not perfectly correlated often beats both.

Exogenous inputs go to the candidates that use them.
"""

import numpy as np
from oslo_config import cfg
from oslo_log import log as logging

from irra_openstack.forecast import base
from irra_openstack import plugins

LOG = logging.getLogger(__name__)

#: Default candidates.
DEFAULT_CANDIDATES = ('naive', 'seasonal_naive', 'ridge', 'gbm')
#: Relative MAE margin a candidate needs to replace the default one.
DEFAULT_MARGIN = 0.02
#: Name of the blend candidate.
BLEND = 'blend'


class AutoForecaster(base.Forecaster):
    """Per-series model selection by rolling back-test.

    :param candidates: names of ``irra.forecasters`` plugins (or already
        built forecasters with the same step and horizon).
    :param margin: see the module doc.
    :param blend: add the mean of ridge and gbm as a candidate.
    :param candidate_kwargs: extra constructor arguments per candidate
        name, e.g. ``{'gbm': {'max_rows': 50000}}``.
    """

    name = 'auto'
    description = ('Best of several models per series by rolling '
                   'back-test (naive, seasonal naive, ridge, gbm), with '
                   'conformal intervals.')
    uses_exog = True

    def __init__(self, step, horizon, candidates=DEFAULT_CANDIDATES,
                 margin=DEFAULT_MARGIN, blend=True, candidate_kwargs=None,
                 seed=0, **kwargs):
        super().__init__(step, horizon, **kwargs)
        common = dict(level=self.level, season=self.season,
                      history=self.history,
                      calibration_window=self.calibration_window,
                      min_residuals=self.min_residuals,
                      max_origins=self.max_origins, floor=self.floor,
                      cold_start=self.cold_start)
        if isinstance(candidates, str):
            candidates = [c.strip() for c in candidates.split(',')
                          if c.strip()]
        candidate_kwargs = candidate_kwargs or {}
        self.candidates = []
        for c in candidates:
            if isinstance(c, base.Forecaster):
                self.candidates.append(c)
                continue
            if c == self.name:
                raise base.ForecastError(
                    reason="auto cannot be its own candidate")
            kw = dict(common)
            if c in ('ridge', 'gbm'):
                kw['seed'] = seed
            kw.update(candidate_kwargs.get(c, {}))
            self.candidates.append(plugins.load(
                base.NAMESPACE, c, base=base.Forecaster, step=self.step,
                horizon=self.horizon, **kw))
        if not self.candidates:
            raise base.ForecastError(reason="auto needs a candidate")
        self.names = [c.name for c in self.candidates]
        self.blend = (bool(blend) and 'ridge' in self.names and
                      'gbm' in self.names)
        if self.blend:
            self.names.append(BLEND)
        self.margin = float(margin)
        self.seed = int(seed)
        #: Index of the chosen candidate per series, after fit.
        self.choice = None
        self._residuals = None

    @classmethod
    def get_config_opts(cls):
        return base.calibration_opts() + [
            cfg.ListOpt(
                'candidates', default=list(DEFAULT_CANDIDATES),
                help='Forecaster plugins the auto forecaster chooses '
                     'from, per series, by rolling back-test.'),
        ]

    def _warmup(self):
        return max(c._warmup() for c in self.candidates)

    def _share(self, history, start):
        for c in self.candidates:
            c.epoch_known = self.epoch_known
            c._exog = c._check_exog(self._exog, history)
            c._start = start
            c._n_now = history.shape[0]

    def _pooled(self, indexes):
        """The candidates among ``indexes`` that are pooled models."""
        from irra_openstack.forecast import pooled

        return [i for i in indexes
                if isinstance(self.candidates[i], pooled.PooledForecaster)]

    def _band_source(self):
        """Index of the candidate whose band scales the intervals."""
        for i, c in enumerate(self.candidates):
            if c._has_band():
                return i
        return None

    def _all_paths(self, history, origins, which=None, band=False,
                   series=None):
        """Paths of the candidates (all, or the indexes ``which``).

        The pooled candidates share one build of the feature rows.

        :param series: indexes of the series to forecast; all by default.

        :returns: ``(paths, w_lo, w_hi)``: a dict index -> (S, n, H), and
            the band of :meth:`_band_source` (None without one, or when
            not asked).
        """
        n_cand = len(self.candidates)
        which = range(len(self.names)) if which is None else which
        need = set(which)
        if self.blend and len(self.names) - 1 in need:
            need |= {self.names.index('ridge'), self.names.index('gbm')}
        src = self._band_source() if band else None
        if src is not None:
            need.add(src)
        need = sorted(i for i in need if i < n_cand)
        pooled_idx = self._pooled(need)
        paths = {}
        for i in need:
            if i not in pooled_idx:
                paths[i] = self.candidates[i]._paths_band(
                    history, origins, series=series)[0]
        w_lo = w_hi = None
        if pooled_idx:
            from irra_openstack.forecast import pooled

            n_series = history.shape[0] if series is None else len(series)
            shape = (n_series, len(origins), self.horizon)
            for i in pooled_idx:
                paths[i] = np.full(shape, np.nan)
            if src is not None:
                w_lo = np.full(shape, np.nan)
                w_hi = np.full(shape, np.nan)
            first = self.candidates[pooled_idx[0]]
            for i0, i1, X, h, last, scale in first.iter_rows(
                    history, np.asarray(origins, dtype=np.int64), series):
                for i in pooled_idx:
                    y, lo, hi = self.candidates[i].predict_rows(
                        X, h, last, scale, band=i == src)
                    paths[i][:, i0:i1] = pooled._to_paths(
                        y, i1 - i0, n_series, self.horizon)
                    if i == src and lo is not None:
                        w_lo[:, i0:i1] = pooled._to_paths(
                            lo, i1 - i0, n_series, self.horizon)
                        w_hi[:, i0:i1] = pooled._to_paths(
                            hi, i1 - i0, n_series, self.horizon)
        if self.blend and len(self.names) - 1 in set(which):
            paths[len(self.names) - 1] = 0.5 * (
                paths[self.names.index('ridge')] +
                paths[self.names.index('gbm')])
        return paths, w_lo, w_hi

    def _origins(self, length):
        from irra_openstack.forecast import pooled

        origins = super()._origins(length)
        return pooled.capped_origins(self, origins,
                                     getattr(self, '_n_now', 1))

    def fit(self, history, start, exog=None):
        # The pooled candidates share the cycles measured in this fit.
        box = {}
        pooled = [self.candidates[i] for i in
                  self._pooled(range(len(self.candidates)))]
        for c in pooled:
            c._cycle_box = box
        try:
            return super().fit(history, start, exog=exog)
        finally:
            for c in pooled:
                c._cycle_box = None

    def _fit_model(self, history, start):
        self._n_now = history.shape[0]
        self._share(history, start)
        shared = {}
        for i in self._pooled(range(len(self.candidates))):
            # Pooled candidates with the same sampling train on the same
            # rows, built once.
            c = self.candidates[i]
            c._n_now = history.shape[0]
            origins = c._origins(history.shape[1])
            cut = int(origins[0]) if origins.size else history.shape[1]
            if cut < min(history.shape[1], c._warmup() + self.horizon + 2):
                cut = history.shape[1]
            c._cut = cut
            key = c.rows_key() + (cut,)
            if key not in shared:
                shared[key] = c.training_rows(history, start, cut)
            c._train_on(history, start, cut, rows=shared[key])
        for i, c in enumerate(self.candidates):
            if i not in self._pooled([i]):
                c._fit_model(history, start)
        del shared

    def _after_calibration(self, history, start):
        for c in self.candidates:
            c._after_calibration(history, start)

    def _calibrate(self, history):
        """Back-test all candidates, choose per series, calibrate."""
        from irra_openstack.forecast import conformal

        n_series, length = history.shape
        origins = self._origins(length)
        n_names = len(self.names)
        # Many series: the back-test runs on a sample of them (see
        # pooled.backtest_series), and the others keep the default.
        sample = self._backtest_series(n_series) if origins.size else None
        tested = history if sample is None else history[sample]
        n_tested = tested.shape[0]
        shape = (n_tested, origins.size, self.horizon)
        if origins.size:
            target = origins[:, None] + np.arange(self.horizon)[None, :]
            inside = target < length
            actual = np.full(shape, np.nan)
            actual[:, inside] = tested[:, target[inside]]
            paths, w_lo, w_hi = self._all_paths(history, origins,
                                                band=True, series=sample)
        else:
            w_lo = w_hi = None
        mae = np.full((n_names, n_tested), np.inf)
        residuals = {}
        for i in range(n_names):
            if not origins.size:
                residuals[i] = np.full(shape, np.nan)
                continue
            with np.errstate(invalid='ignore', over='ignore'):
                r = actual - paths[i]
            residuals[i] = r
            ok = np.isfinite(r)
            count = ok.sum(axis=(1, 2))
            total = np.where(ok, np.abs(r), 0.0).sum(axis=(1, 2))
            mae[i] = np.where(count > 0, total / np.maximum(count, 1),
                              np.inf)
        default = self._default_index()
        score = mae.copy()
        score[np.arange(n_names) != default] *= (1.0 + self.margin)
        choice = np.argmin(score, axis=0)
        # No back-test at all: the default candidate.
        choice = np.where(np.isfinite(score).any(axis=0), choice, default)
        chosen = np.empty(shape)
        chosen_point = np.empty(shape)
        for i in range(n_names):
            mask = choice == i
            if mask.any():
                chosen[mask] = residuals[i][mask]
                if origins.size:
                    chosen_point[mask] = paths[i][mask]
        if sample is not None:
            full = np.full(n_series, default)
            full[sample] = choice
            choice = full
            chosen, chosen_point, w_lo, w_hi = (
                None if a is None else base._spread(a, sample, n_series)
                for a in (chosen, chosen_point, w_lo, w_hi))
            shape = (n_series,) + shape[1:]
            LOG.info('auto: %d series, back-tested on a sample of %d',
                     n_series, sample.size)
        self.choice = choice
        counts = np.bincount(choice, minlength=n_names)
        LOG.info('auto: %s', ', '.join(
            '%s %d' % (n, k) for n, k in zip(self.names, counts) if k))
        if self._band_source() is not None:
            # Residuals of the chosen model over the band of the model
            # that has one (gbm): scale-free scores, pooled over series.
            if w_lo is None:
                w_lo = w_hi = np.ones(shape)
            return conformal.NormalisedCalibrator(
                self.level, min_residuals=self.min_residuals).calibrate(
                    chosen, w_lo, w_hi,
                    point=chosen_point if origins.size else None,
                    floor=self.floor)
        window = self.calibration_window or length
        scale = conformal.series_scale(history[:, -(window + 1):])
        calibrator = conformal.ConformalCalibrator(
            self.level, min_residuals=self.min_residuals)
        return calibrator.calibrate(chosen, scale)

    def _has_band(self):
        return self._band_source() is not None

    def _default_index(self):
        for name in ('gbm', 'ridge', 'seasonal_naive', 'naive'):
            if name in self.names:
                return self.names.index(name)
        return 0

    def _backtest_series(self, n_series):
        from irra_openstack.forecast import pooled

        return pooled.backtest_series(self, n_series)

    def _paths_band(self, history, origins, series=None):
        n_series = history.shape[0]
        self._share(history, self._start)
        choice = self.choice
        if choice is None or choice.shape[0] != n_series:
            choice = np.full(n_series, self._default_index())
        if series is not None:
            choice = choice[series]
        used = np.unique(choice)
        paths, w_lo, w_hi = self._all_paths(history, origins, which=used,
                                            band=self._has_band(),
                                            series=series)
        out = np.full((choice.size, len(origins), self.horizon), np.nan)
        for i in used:
            mask = choice == i
            out[mask] = paths[i][mask]
        return out, w_lo, w_hi

    def _paths(self, history, origins):
        return self._paths_band(history, origins)[0]

    def chosen_names(self):
        """The chosen model's name per series (after fit)."""
        if self.choice is None:
            return []
        return [self.names[i] for i in self.choice]
