"""The ridge forecaster: a global linear model, one per horizon step.

For each horizon step ``h`` it solves, on the scale-free rows of
:mod:`.features` (lags, rolling means and spreads, seasonal lags, Fourier
terms of the time of day and day of week, exogenous inputs),

    beta_h = argmin  sum_i (z_i - x_i . beta)^2 + lam * |beta|^2

with the columns standardised (missing features are 0, that is "like the
last value", after standardisation) and an unpenalised intercept. All
steps are solved at once: the normal equations ``(X_h'X_h + lam I) beta_h
= X_h'z_h`` are stacked into one (H, p, p) batch for ``numpy.linalg.solve``.
The model is *direct* (one set of coefficients per step, no recursion), so
errors do not compound along the horizon. Being global, it learns the
shape of the daily cycle that all series share relative to their own
level and variability, and each series' own seasonal lags carry its
specific shape.
"""

import numpy as np

from irra_openstack.forecast import pooled

#: Ridge penalty, relative to the number of rows per step.
DEFAULT_PENALTY = 1e-3


class RidgeForecaster(pooled.PooledForecaster):
    """Direct multi-horizon ridge regression pooled over all series."""

    name = 'ridge'
    description = ('Global ridge regression on lags, seasonal lags and '
                   'calendar terms, one per horizon step, with conformal '
                   'intervals.')
    pools_steps = False

    def __init__(self, step, horizon, penalty=DEFAULT_PENALTY, **kwargs):
        super().__init__(step, horizon, **kwargs)
        self.penalty = float(penalty)
        self._coef = None

    def _standardise(self, X):
        Xs = (np.asarray(X, dtype=np.float64) - self._mean) / self._std
        Xs[~np.isfinite(Xs)] = 0.0
        return np.concatenate([Xs, np.ones((Xs.shape[0], 1))], axis=1)

    def _train(self, X, z, h):
        X = np.asarray(X, dtype=np.float64)
        # A column without any finite value (a feature the history is too
        # short for) gets mean 0 and scale 1, without numpy's warning.
        finite = np.isfinite(X)
        count = np.maximum(finite.sum(axis=0), 1)
        filled = np.where(finite, X, 0.0)
        self._mean = filled.sum(axis=0) / count
        dev = np.where(finite, X - self._mean, 0.0)
        std = np.sqrt((dev * dev).sum(axis=0) / count)
        self._std = np.where(std > 1e-9, std, 1.0)
        Xs = self._standardise(X)
        p = Xs.shape[1]
        horizon = self.horizon
        # One (p, p) Gram matrix per step, all steps at once.
        gram = np.zeros((horizon, p, p))
        rhs = np.zeros((horizon, p))
        counts = np.bincount(h, minlength=horizon)
        for_step = np.argsort(h, kind='stable')
        bounds = np.concatenate([[0], np.cumsum(counts)])
        # A loop over the horizon steps (not over series): each is one
        # matrix product over all its rows.
        for k in range(horizon):
            rows = for_step[bounds[k]:bounds[k + 1]]
            A = Xs[rows]
            gram[k] = A.T @ A
            rhs[k] = A.T @ z[rows]
        # The penalty on every coefficient but the intercept (last).
        idx = np.arange(p - 1)
        gram[:, idx, idx] += (self.penalty *
                              np.maximum(counts, 1)[:, None])
        gram[:, p - 1, p - 1] += 1e-9
        self._coef = np.linalg.solve(gram, rhs[:, :, None])[:, :, 0]
        # A step without rows gets the coefficients of the nearest step.
        empty = counts == 0
        if empty.any() and (~empty).any():
            have = np.flatnonzero(~empty)
            nearest = have[np.abs(np.arange(horizon)[:, None] -
                                  have[None, :]).argmin(axis=1)]
            self._coef = self._coef[nearest]

    def _predict_z(self, X, h):
        Xs = self._standardise(X)
        return np.einsum('ij,ij->i', Xs, self._coef[h])
