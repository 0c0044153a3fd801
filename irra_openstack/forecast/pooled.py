"""Common base of the global (pooled) learned forecasters: ridge and gbm.

One model is learned across all series at once, on the scale-free rows of
:mod:`.features`: it predicts ``z = (y[o + h] - last) / scale`` from the
features of ``(series, origin, step)`` rows, and the forecast is ``last +
scale * zhat``. Training rows are a random sample (``max_rows``) of all
``(series, origin, step)`` triples of the training window, which bounds
the cost whatever the number of series.

Out-of-sample calibration: :meth:`fit` first trains on the history *before*
the calibration back-test (:meth:`.base.Forecaster._origins`), so that the
conformal residuals are honest, then (``refit``, the default) trains again
on the whole history for the forecasts. The refitted model has seen a week
more data, so its errors are, if anything, smaller than the calibration
residuals: the intervals err on the safe side, and the ACI updates
(:meth:`.base.Forecaster.update`) correct the rest.
"""

import abc

import numpy as np
from oslo_config import cfg
from oslo_log import log as logging

from irra_openstack.forecast import base
from irra_openstack.forecast import features

LOG = logging.getLogger(__name__)

#: Default number of training rows sampled.
DEFAULT_MAX_ROWS = 60000
#: Most rows (series x origins x steps) of a calibration back-test; fewer
#: origins are used for many series (down to :data:`MIN_ORIGINS`).
BACKTEST_ROWS = 2000000
MIN_ORIGINS = 24


def capped_origins(forecaster, origins, n_series):
    """Keep at most ``BACKTEST_ROWS / (n_series * horizon)`` origins.

    The most recent origin is kept and the others spread evenly; at least
    :data:`MIN_ORIGINS` (series with fewer residuals than ``min_residuals``
    borrow the pooled interval, see :mod:`.conformal`).
    """
    most = max(MIN_ORIGINS, BACKTEST_ROWS // max(
        1, n_series * forecaster.horizon))
    if origins.size <= most:
        return origins
    return np.unique(np.round(np.linspace(
        origins[0], origins[-1], most)).astype(np.int64))


#: Rows per chunk when predicting (bounds the memory of the features).
_PREDICT_CHUNK = 250000


def pooled_opts(max_rows=DEFAULT_MAX_ROWS):
    return base.calibration_opts() + [
        cfg.IntOpt(
            'max_rows',
            default=max_rows,
            min=100,
            help='Most (series, origin, horizon step) rows sampled to '
                 'train the global model; bounds the training time '
                 'whatever the number of series.'),
        cfg.IntOpt(
            'train_window',
            default=0,
            min=0,
            help='Most recent history, in seconds, the model trains on; '
                 '0 for all the history given.'),
    ]


class PooledForecaster(base.Forecaster, metaclass=abc.ABCMeta):
    """A global model on the scale-free features of all series.

    Besides the :class:`.base.Forecaster` arguments:

    :param max_rows: training rows sampled.
    :param train_window: steps of the most recent history to train on;
        None or 0 for all.
    :param refit: retrain on the whole history after calibrating.
    :param seed: seed of the row sampling and of the model.
    """

    uses_exog = True
    #: Whether the features include the horizon step (one model for all
    #: steps) or not (one model per step).
    pools_steps = True

    def __init__(self, step, horizon, max_rows=DEFAULT_MAX_ROWS,
                 train_window=None, refit=True, seed=0, transform=False,
                 **kwargs):
        super().__init__(step, horizon, **kwargs)
        self.transform = bool(transform)
        self.max_rows = base._whole('max_rows', max_rows, 1)
        self.train_window = base._whole('train_window', train_window or 0,
                                        0)
        self.refit = bool(refit)
        self.seed = int(seed)
        self._design = None
        self._trained = False
        self._n_exog = 0

    @classmethod
    def get_config_opts(cls):
        return pooled_opts()

    # -- what a concrete model provides -----------------------------------

    @abc.abstractmethod
    def _train(self, X, z, h):
        """Learn from rows ``X`` (n, p) with targets ``z`` and steps ``h``.

        Rows are finite in ``z``; ``X`` may hold NaN.
        """

    @abc.abstractmethod
    def _predict_z(self, X, h):
        """Predicted ``z`` (n,) for rows ``X`` at steps ``h``."""

    # -- the Forecaster hooks ----------------------------------------------

    def _warmup(self):
        return features.day_steps(self.step) + 1

    def _origins(self, length):
        origins = super()._origins(length)
        return capped_origins(self, origins, getattr(self, '_n_now', 1))

    def _fit_model(self, history, start):
        self._n_now = history.shape[0]
        self._fit_pooled(history, start)

    def _fit_pooled(self, history, start):
        length = history.shape[1]
        origins = self._origins(length)
        cut = int(origins[0]) if origins.size else length
        if cut < min(length, self._warmup() + self.horizon + 2):
            # Too little before the calibration window: train on it all
            # (the intervals are then in-sample, and the ACI updates have
            # to widen them).
            cut = length
        self._cut = cut
        self._train_on(history, start, cut)

    def _after_calibration(self, history, start):
        if self.refit and self._cut < history.shape[1]:
            self._train_on(history, start, history.shape[1])

    def _train_on(self, history, start, end):
        n_exog = 0 if self._exog is None else self._exog.shape[1]
        self._n_exog = n_exog
        self._design = features.Design(
            self.step, start, epoch_known=self.epoch_known,
            with_h=self.pools_steps, n_exog=n_exog)
        rng = np.random.default_rng(self.seed)
        first = self._warmup()
        if self.train_window:
            first = max(first, end - self.train_window)
        s, o, h = features.sample_rows(history.shape[0], end, self.horizon,
                                       first, rng, self.max_rows, last=end)
        X, last, scale = self._design.rows(history, s, o, h, self._exog)
        z = self._design.targets(history, s, o, h, last, scale)
        ok = np.isfinite(z)
        X, z, h = X[ok], z[ok], h[ok]
        if z.size < 10:
            LOG.info('%s: only %d training rows; the model forecasts '
                     'the last value', self.name, z.size)
            self._trained = False
            return
        self._train(X, np.arcsinh(z) if self.transform else z, h)
        self._trained = True
        LOG.debug('%s trained on %d rows x %d features', self.name,
                  z.size, X.shape[1])

    def _paths(self, history, origins):
        n_series = history.shape[0]
        origins = np.asarray(origins, dtype=np.int64)
        horizon = self.horizon
        out = np.full((n_series, origins.size, horizon), np.nan)
        if n_series == 0 or origins.size == 0:
            return out
        design = self._design
        exog = self._exog
        if design is None or (exog is None) != (self._n_exog == 0) or (
                exog is not None and exog.shape[1] != self._n_exog):
            # Not trained with these inputs: features without exog.
            exog = None if self._n_exog == 0 else np.full(
                (n_series, self._n_exog, history.shape[1]), np.nan)
        design = features.Design(
            self.step, self._start, epoch_known=self.epoch_known,
            with_h=self.pools_steps,
            n_exog=0 if exog is None else exog.shape[1])
        per_origin = n_series * horizon
        chunk = max(1, _PREDICT_CHUNK // max(per_origin, 1))
        s_grid = np.repeat(np.arange(n_series), horizon)
        h_grid = np.tile(np.arange(horizon), n_series)
        for i in range(0, origins.size, chunk):
            sub = origins[i:i + chunk]
            s = np.tile(s_grid, sub.size)
            h = np.tile(h_grid, sub.size)
            o = np.repeat(sub, per_origin)
            X, last, scale = design.rows(history, s, o, h, exog)
            if self._trained:
                z = self._predict_z(X, h)
                if self.transform:
                    z = np.sinh(np.clip(z, -10.0, 10.0))
                # A series flat over the last day (its scale is the
                # floor) is forecast flat.
                with np.errstate(invalid='ignore'):
                    flat = scale <= 1e-3 * (np.abs(last) + 1e-3) * (
                        1.0 + 1e-9)
                z = np.where(flat, 0.0, z)
            else:
                z = np.zeros(s.size)
            y = last + scale * np.clip(z, -features.Z_CLIP,
                                       features.Z_CLIP)
            out[:, i:i + sub.size, :] = y.reshape(
                sub.size, n_series, horizon).transpose(1, 0, 2)
        return out
