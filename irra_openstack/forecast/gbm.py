"""The gbm forecaster: one global gradient-boosted model for all series.

One scikit-learn ``HistGradientBoostingRegressor`` is trained across all
series on the scale-free rows of :mod:`.features`, with the horizon step
as a feature (one model for every step). The point model minimises the
absolute error, so it forecasts the conditional *median* of ``z = (y[o +
h] - last) / scale`` (the MAE-optimal point). Two more models with the
pinball loss at ``alpha / 2`` and ``1 - alpha / 2`` give the raw quantiles
(:meth:`GBMForecaster.raw_quantiles`); they are not what the forecast's
interval uses, which is conformal (:mod:`.conformal`), because raw model
quantiles under-cover out of sample.

The cost is bounded by sampling ``max_rows`` training rows, whatever the
number of series; prediction is one batched call per chunk of rows.
"""

import numpy as np
from oslo_config import cfg

from irra_openstack.forecast import pooled

#: Defaults of the boosting.
DEFAULT_ITERATIONS = 100
DEFAULT_LEARNING_RATE = 0.08
DEFAULT_LEAVES = 31


class GBMForecaster(pooled.PooledForecaster):
    """Global HistGradientBoosting model (median) with conformal bounds.

    :param quantiles: also train the raw quantile models.
    :param max_iter, learning_rate, max_leaf_nodes: of the boosting.
    """

    name = 'gbm'
    description = ('One global HistGradientBoosting model across all '
                   'series (median and raw quantiles), with conformal '
                   'intervals.')

    def __init__(self, step, horizon, quantiles=False, loss='absolute_error',
                 max_iter=DEFAULT_ITERATIONS,
                 learning_rate=DEFAULT_LEARNING_RATE,
                 max_leaf_nodes=DEFAULT_LEAVES, **kwargs):
        super().__init__(step, horizon, **kwargs)
        self.quantiles = bool(quantiles)
        self.loss = loss
        self.max_iter = int(max_iter)
        self.learning_rate = float(learning_rate)
        self.max_leaf_nodes = int(max_leaf_nodes)
        self._models = {}

    @classmethod
    def get_config_opts(cls):
        return pooled.pooled_opts() + [
            cfg.IntOpt('max_iter', default=DEFAULT_ITERATIONS, min=1,
                       help='Boosting iterations of the global model.'),
        ]

    def _model(self, loss, quantile=None):
        from sklearn import ensemble  # imported late: a heavy import

        kw = {'quantile': quantile} if quantile is not None else {}
        return ensemble.HistGradientBoostingRegressor(
            loss=loss, max_iter=self.max_iter,
            learning_rate=self.learning_rate,
            max_leaf_nodes=self.max_leaf_nodes, min_samples_leaf=40,
            l2_regularization=1.0, early_stopping=False,
            random_state=self.seed, **kw)

    def _train(self, X, z, h):
        models = {'point': self._model(self.loss)}
        if self.quantiles:
            half = (1.0 - self.level) / 2.0
            models['lower'] = self._model('quantile', half)
            models['upper'] = self._model('quantile', 1.0 - half)
        # A feature never seen (e.g. the weekly mean in a short history)
        # is a constant 0 for the binning, which rejects all-NaN columns.
        empty = np.isnan(X).all(axis=0)
        if empty.any():
            X = X.copy()
            X[:, empty] = 0.0
        for model in models.values():
            model.fit(X, z)
        self._models = models

    def _predict_z(self, X, h, which='point'):
        return self._models[which].predict(X)

    def raw_quantiles(self, history, origins):
        """Raw (uncalibrated) model bounds from several origins.

        :returns: ``(point, lower, upper)`` float arrays (series, n,
            horizon), from the point and the two quantile models (the
            forecaster must have been built with ``quantiles=True``).
        """
        if 'lower' not in self._models:
            raise ValueError('built without quantiles=True')
        result = []
        for which in ('point', 'lower', 'upper'):
            keep = self._predict_z
            self._predict_z = (lambda X, h, w=which:
                               keep(X, h, which=w))
            try:
                result.append(self._paths(history, origins))
            finally:
                del self._predict_z
        point, lower, upper = result
        return point, np.minimum(lower, point), np.maximum(upper, point)
