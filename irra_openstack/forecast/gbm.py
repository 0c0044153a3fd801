"""The gbm forecaster: one global gradient-boosted model for all series.

One scikit-learn ``HistGradientBoostingRegressor`` is trained across all
series on the scale-free rows of :mod:`.features`, with the horizon step
as a feature (one model for every step). The point model minimises the
absolute error, so it forecasts the conditional *median* of ``z = (y[o +
h] - last) / scale`` (the MAE-optimal point). Two more models with the
pinball loss at ``alpha / 2`` and ``1 - alpha / 2`` give a band around it
(``quantiles``, on by default; trained on at most ``quantile_rows`` of the
training rows, since a band only needs its shape right).

The forecast's interval is that band, calibrated: the conformal
back-test scores are the residuals divided by the band's half-width on
their side (:class:`.conformal.NormalisedCalibrator`), so the calibrated
interval keeps the band's row-by-row width (narrow in calm spells, wide
in bursty ones) and is stretched just enough to cover. Raw model
quantiles alone under-cover out of sample
(:meth:`GBMForecaster.raw_quantiles` gives them, for comparison).

The cost is bounded by sampling ``max_rows`` training rows, whatever the
number of series; prediction is one batched call per chunk of rows.
"""

import numpy as np
from oslo_config import cfg

from irra_openstack.forecast import base
from irra_openstack.forecast import pooled

#: Defaults of the boosting.
DEFAULT_ITERATIONS = 100
DEFAULT_LEARNING_RATE = 0.08
DEFAULT_LEAVES = 31
#: Default most rows of the two quantile models.
DEFAULT_QUANTILE_ROWS = 60000
#: Default boosting iterations of each quantile model. 30 larger steps on
#: 60,000 rows train and forecast faster than the former 100 on 30,000,
#: and the calibrated intervals stayed within 1.1 times the former raw
#: band on the benchmark's traces; see doc/source/admin/forecasting.rst.
DEFAULT_QUANTILE_ITERATIONS = 30
#: Largest learning rate of the quantile models (see ``quantile_iter``).
MAX_QUANTILE_RATE = 0.5
#: Rows per call of a model's ``predict``. scikit-learn walks the trees
#: one at a time over all the rows it is given, so a large batch is read
#: from memory once per tree; a block this size stays in the core's cache
#: while every tree walks it. The predictions are the same.
PREDICT_BLOCK = 16384


class GBMForecaster(pooled.PooledForecaster):
    """Global HistGradientBoosting model (median) with a calibrated band.

    :param quantiles: also train the quantile models, whose band the
        intervals are calibrated on (otherwise the intervals are plain
        split-conformal, a constant half-width per series and step).
    :param quantile_rows: most training rows of the quantile models.
    :param quantile_iter: boosting iterations of each quantile model
        (None: ``max_iter``; never boosted for few series). Its
        learning rate is scaled so that iterations times rate stay those
        of ``max_iter`` and ``learning_rate`` (up to
        :data:`MAX_QUANTILE_RATE`): fewer, larger steps. Each iteration
        is a tree that every forecast walks.
    :param loss: of the point model.
    :param max_iter, learning_rate, max_leaf_nodes: of the boosting.
    """

    name = 'gbm'
    description = ('One global HistGradientBoosting model across all '
                   'series (median and quantiles), with the quantile '
                   'band calibrated by conformal prediction.')

    def __init__(self, step, horizon, quantiles=True, loss='absolute_error',
                 max_iter=DEFAULT_ITERATIONS,
                 learning_rate=DEFAULT_LEARNING_RATE,
                 max_leaf_nodes=DEFAULT_LEAVES,
                 quantile_rows=DEFAULT_QUANTILE_ROWS,
                 quantile_iter=DEFAULT_QUANTILE_ITERATIONS, **kwargs):
        super().__init__(step, horizon, **kwargs)
        self.quantiles = bool(quantiles)
        self.quantile_rows = max(100, int(quantile_rows))
        self.loss = loss
        self.max_iter = int(max_iter)
        self.learning_rate = float(learning_rate)
        self.max_leaf_nodes = int(max_leaf_nodes)
        self.quantile_iter = (self.max_iter if quantile_iter is None
                              else int(quantile_iter))
        if self.quantile_iter < 1:
            raise base.ForecastError(
                reason="quantile_iter must be 1 or more, got %r"
                % (quantile_iter,))
        self._models = {}

    @classmethod
    def get_config_opts(cls):
        return pooled.pooled_opts() + [
            cfg.IntOpt('max_iter', default=DEFAULT_ITERATIONS, min=1,
                       help='Boosting iterations of the global model.'),
            cfg.IntOpt('quantile_rows', default=DEFAULT_QUANTILE_ROWS,
                       min=100,
                       help='Most training rows of the two quantile '
                            'models whose band the intervals are '
                            'calibrated on.'),
            cfg.IntOpt('quantile_iter', default=DEFAULT_QUANTILE_ITERATIONS,
                       min=1,
                       help='Boosting iterations of each of the two '
                            'quantile models; their '
                            'learning rate is '
                            'scaled to keep iterations times rate '
                            'those of the point model (at most %g). '
                            'Every forecast walks each tree, so fewer '
                            'iterations forecast faster.'
                            % MAX_QUANTILE_RATE),
        ]

    def _model(self, loss, quantile=None, max_iter=None,
               learning_rate=None):
        from sklearn import ensemble  # imported late: a heavy import

        kw = {'quantile': quantile} if quantile is not None else {}
        return ensemble.HistGradientBoostingRegressor(
            loss=loss, max_iter=max_iter or self.max_iter,
            learning_rate=learning_rate or self.learning_rate,
            max_leaf_nodes=self.max_leaf_nodes, min_samples_leaf=40,
            l2_regularization=1.0, early_stopping=False,
            random_state=self.seed, **kw)

    def _train(self, X, z, h):
        # A feature never seen (e.g. the weekly mean in a short history)
        # is a constant 0 for the binning, which rejects all-NaN columns.
        empty = np.isnan(X).all(axis=0)
        if empty.any():
            X = X.copy()
            X[:, empty] = 0.0
        # Few series: more iterations for the point model, the square of
        # the rows' factor (see PooledForecaster.boost): the rows grow
        # with it too, and a bigger sample carries a bigger model. The
        # band models keep theirs.
        iters = int(round(self.max_iter * self.boost() ** 2))
        models = {'point': self._model(self.loss, max_iter=iters).fit(X, z)}
        if self.quantiles:
            half = (1.0 - self.level) / 2.0
            if z.size > self.quantile_rows:
                pick = np.random.default_rng(self.seed).choice(
                    z.size, self.quantile_rows, replace=False)
                X, z = X[pick], z[pick]
            band = dict(max_iter=self.quantile_iter,
                        learning_rate=self.quantile_rate())
            models['lower'] = self._model('quantile', half,
                                          **band).fit(X, z)
            models['upper'] = self._model('quantile', 1.0 - half,
                                          **band).fit(X, z)
        self._models = models

    def quantile_rate(self):
        """Learning rate of the quantile models (see ``quantile_iter``)."""
        rate = self.learning_rate * self.max_iter / float(self.quantile_iter)
        return min(rate, MAX_QUANTILE_RATE)

    def _has_band(self):
        return self._trained and 'lower' in self._models

    def _predict_z(self, X, h, which='point'):
        return predict_blocks(self._models[which], X)

    def raw_quantiles(self, history, origins):
        """Raw (uncalibrated) model bounds from several origins.

        :returns: ``(point, lower, upper)`` float arrays (series, n,
            horizon), from the point and the two quantile models (the
            forecaster must have been built with ``quantiles=True``).
        """
        if 'lower' not in self._models:
            raise ValueError('built without quantiles=True')
        n_series = history.shape[0]
        origins = np.asarray(origins, dtype=np.int64)
        shape = (n_series, origins.size, self.horizon)
        result = [np.full(shape, np.nan) for _ in range(3)]
        for i, j, X, h, last, scale in self.iter_rows(history, origins):
            y, w_lo, w_hi = self.predict_rows(X, h, last, scale)
            for k, which in enumerate(('point', 'lower', 'upper')):
                z = self._z(X, h, which)
                if which == 'point':
                    values = y
                else:
                    values = last + scale * np.clip(
                        z, -pooled.features.Z_CLIP, pooled.features.Z_CLIP)
                result[k][:, i:j] = pooled._to_paths(
                    values, j - i, n_series, self.horizon)
        point, lower, upper = result
        return point, np.minimum(lower, point), np.maximum(upper, point)


def predict_blocks(model, X, block=PREDICT_BLOCK):
    """``model.predict(X)``, in blocks of ``block`` rows."""
    n = X.shape[0]
    if n <= block:
        return model.predict(X)
    out = np.empty(n)
    for i in range(0, n, block):
        out[i:i + block] = model.predict(X[i:i + block])
    return out
