"""The multivariate detector: an isolation forest over each resource's metrics.

Each point is one resource at one step, described by all its metrics at once
(CPU, memory, disk, network, and any application metrics such as request
rate or queue length). A point whose metrics, taken together, are unlike the
resource's recent history is an outlier even when every metric on its own
is in its usual range: CPU high while the network traffic that usually
comes with it is not, for example.

Normalisation (per resource)
----------------------------
For resource :math:`r` and metric :math:`j`, with :math:`\\tilde x_{rj}`
the median and :math:`s_{rj} = 1.4826\\,\\mathrm{MAD}_{rj}` the robust
spread of its *training* steps (the standard deviation when the MAD is 0,
and at least :math:`10^{-6}(|\\tilde x_{rj}| + 1)`), every value becomes

.. math:: z_{rjt} = \\mathrm{clip}\\left(\\frac{x_{rjt} - \\tilde x_{rj}}
                                              {s_{rj}}, -c, c\\right)

with :math:`c` = ``clip``. A missing value is imputed as :math:`z = 0` (the
resource's median); a point with more than ``max_missing`` of its metrics
missing is not scored. Since every resource is on the same scale after
this, *one* scikit-learn ``IsolationForest`` is fitted on the pooled
training points of all resources (at most ``max_train_points`` of them, drawn
at random): it learns the usual joint shape of the metrics, and one model
serves thousands of VMs. The forest sees, for each metric, both its own
deviation :math:`z_j` and its conditional deviation :math:`\\zeta_j` (below):
a forest splits on one feature at a time, so a point that only breaks the
usual *relation* between metrics, each of them in its usual range, is hard
for it to isolate from :math:`z` alone, and easy from :math:`\\zeta`.

Scores and threshold
--------------------
The anomaly score of a point is :math:`a = -\\mathrm{score\\_samples}`, in
(0, 1], about 0.5 for ordinary points and near 1 for easily isolated ones.
The threshold :math:`\\tau` is the :math:`1 - \\gamma` quantile of the
training scores (:math:`\\gamma` = ``contamination``); a point is flagged
when :math:`a > \\tau`. Its excess is :math:`(a - \\tau)/\\sigma_a`, with
:math:`\\sigma_a` the robust spread of the training scores; the severity is
that of :mod:`.base`.

Contributions (explanation)
---------------------------
With :math:`\\Sigma` the (shrunk) covariance of the training :math:`z` and
:math:`P = \\Sigma^{-1}`, the *conditional* deviation of metric :math:`j`,
how far it is from what the other metrics imply under a Gaussian model, is

.. math:: \\zeta_j = \\frac{(P z)_j}{\\sqrt{P_{jj}}}

and the contribution of metric :math:`j` to a flagged point is
:math:`q_j = z_j^2 + \\zeta_j^2`: large when the metric is far from its own
median, or far from where its relation with the others puts it. The shares
:math:`q_j / \\sum_i q_i`, averaged over the flagged steps of the anomaly,
rank the metrics; the first is the anomaly's main metric.
"""

import warnings

import numpy as np
from oslo_config import cfg
from oslo_log import log as logging
from sklearn import ensemble

from irra_openstack.anomaly import base

LOG = logging.getLogger(__name__)

#: Fewest training points needed to fit the forest.
MIN_TRAIN_POINTS = 50
#: Shrinkage of the covariance towards its diagonal.
_SHRINK = 0.05


def robust_stats(values):
    """Median and robust spread over the last axis.

    :param values: float array (..., T), NaN for missing.
    :returns: ``(median, scale, constant)``: NaN where there is no data;
        ``constant`` is True where the values do not vary.
    """
    with np.errstate(invalid='ignore'), warnings.catch_warnings():
        # "All-NaN slice" and "Degrees of freedom": NaN is the answer.
        warnings.simplefilter('ignore', RuntimeWarning)
        median = np.nanmedian(values, axis=-1)
        mad = np.nanmedian(np.abs(values - median[..., None]), axis=-1)
        std = np.nanstd(values, axis=-1)
    scale = 1.4826 * mad
    scale = np.where(scale > 0, scale, std)
    constant = ~(scale > 0) & np.isfinite(median)
    floor = 1e-6 * (np.abs(median) + 1.0)
    scale = np.where(np.isfinite(median), np.maximum(
        np.nan_to_num(scale, nan=0.0), floor), np.nan)
    return median, scale, constant


class IsolationForestDetector(base.AnomalyDetector):
    """Multivariate outliers of each resource's metrics.

    :param k: flagged steps needed among ``n`` consecutive ones.
    :param n: window of the k-of-n rule, in steps.
    :param contamination: share of training points above the threshold.
    :param n_estimators: trees of the forest.
    :param window: seconds at the end of the frame that :meth:`detect`
        looks for anomalies in; the steps before are the training history.
    :param max_train_points: most training points the forest is fitted
        on, drawn at random from all resources and steps.
    :param max_missing: largest share of a point's metrics that may be
        missing for it to be scored.
    :param clip: normalised values are clipped to ``[-clip, clip]``.
    :param random_state: seed of the forest and of the sampling.
    """

    name = 'isolation_forest'
    description = ('multivariate outliers of CPU, memory, disk, network and '
                   'application metrics (scikit-learn IsolationForest)')
    anomaly_kind = 'multivariate'
    DEFAULT_K = 2
    DEFAULT_N = 3

    def __init__(self, k=None, n=None, contamination=0.002,
                 n_estimators=100, window=3600, max_train_points=50000,
                 max_missing=0.5, clip=20.0, random_state=0):
        super().__init__(k=k, n=n)
        self.contamination = base.positive_float(
            'contamination', contamination, strict=True)
        if self.contamination >= 0.5:
            raise base.AnomalyError(
                reason="contamination must be below 0.5, got %r"
                % (contamination,))
        self.n_estimators = base.positive_int('n_estimators', n_estimators)
        self.window = base.positive_int('window', window)
        self.max_train_points = base.positive_int(
            'max_train_points', max_train_points, MIN_TRAIN_POINTS)
        self.max_missing = base.positive_float('max_missing', max_missing)
        if self.max_missing >= 1.0:
            raise base.AnomalyError(reason="max_missing must be below 1")
        self.clip = base.positive_float('clip', clip, strict=True)
        self.random_state = int(random_state)
        self._reset()

    def _reset(self):
        self.forest = None
        self.resources = ()
        self.metrics = ()
        self.median = self.scale = None
        self.threshold = self.score_scale = None
        self.precision = None

    @classmethod
    def get_config_opts(cls):
        return super().get_config_opts() + [
            cfg.FloatOpt(
                'contamination', default=0.002, min=0.0, max=0.5,
                help='Share of the training points (recent history) whose '
                     'anomaly score is above the threshold; new points '
                     'scoring above it are flagged.'),
            cfg.IntOpt(
                'n_estimators', default=100, min=1,
                help='Number of trees of the isolation forest.'),
            cfg.IntOpt(
                'window', default=3600, min=1,
                help='Seconds at the end of the data that are searched '
                     'for anomalies; the steps before them are the recent '
                     'history the forest and the per-resource '
                     'normalisation are fitted on.'),
            cfg.IntOpt(
                'max_train_points', default=50000, min=MIN_TRAIN_POINTS,
                help='Most (resource, step) points the forest is fitted '
                     'on, drawn at random from the history of all '
                     'resources; bounds the fitting time.'),
            cfg.FloatOpt(
                'max_missing', default=0.5, min=0.0, max=0.99,
                help='Largest share of the metrics of a point that may be '
                     'missing for the point to be scored; missing metrics '
                     'are taken at the resource\'s median.'),
            cfg.FloatOpt(
                'clip', default=20.0, min=1.0,
                help='Normalised values (robust z-scores per resource and '
                     'metric) are clipped to plus or minus this.'),
            cfg.IntOpt(
                'random_state', default=0,
                help='Seed of the forest and of the sampling of training '
                     'points, for reproducible results.'),
        ]

    def __repr__(self):
        return ('<IsolationForestDetector k=%d n=%d contamination=%g '
                'trees=%d %s>' % (self.k, self.n, self.contamination,
                                  self.n_estimators,
                                  'fitted' if self.forest else 'unfitted'))

    @property
    def fitted(self):
        return self.forest is not None

    # -- fitting ------------------------------------------------------------

    def _normalise(self, values):
        """z (resources, metrics, T) and the scorable mask (resources, T)."""
        with np.errstate(invalid='ignore', divide='ignore'):
            z = (values - self.median[..., None]) / self.scale[..., None]
        z = np.clip(z, -self.clip, self.clip)
        missing = ~np.isfinite(z)
        ok = missing.mean(axis=1) <= self.max_missing
        return np.where(missing, 0.0, z), ok

    def fit(self, frame):
        """Fit the normalisation and the forest on all the steps of ``frame``.

        :returns: True when fitted; False (and the reason logged) when there
            is too little data, in which case :meth:`score` flags nothing.
        """
        self._reset()
        values = np.array(frame.values, dtype=np.float64)
        values[~np.isfinite(values)] = np.nan
        self.resources, self.metrics = frame.resources, frame.metrics
        self.median, self.scale, constant = robust_stats(values)
        if constant.any():
            LOG.info('%s: %d of %d (resource, metric) series are constant '
                     'in the history; any change of them stands out',
                     self.name, int(constant.sum()), constant.size)
        no_data = ~np.isfinite(self.median)
        if no_data.any():
            LOG.info('%s: %d of %d (resource, metric) series have no data '
                     'in the history; they are taken at 0 deviation',
                     self.name, int(no_data.sum()), no_data.size)
        z, ok = self._normalise(values)
        points = np.moveaxis(z, 1, 2)[ok]          # (points, metrics)
        if points.shape[0] < MIN_TRAIN_POINTS or not points.shape[1]:
            LOG.warning('%s: only %d usable training points in %r (need '
                        '%d); no multivariate detection', self.name,
                        points.shape[0], frame, MIN_TRAIN_POINTS)
            self.forest = None
            return False
        rng = np.random.default_rng(self.random_state)
        if points.shape[0] > self.max_train_points:
            points = points[rng.choice(points.shape[0],
                                       self.max_train_points,
                                       replace=False)]
        cov = np.atleast_2d(np.cov(points, rowvar=False))
        cov = (1 - _SHRINK) * cov + _SHRINK * np.diag(np.diag(cov))
        cov += 1e-3 * np.eye(cov.shape[0])
        self.precision = np.linalg.inv(cov)
        features = self._features(points, self._conditional(points))
        self.forest = ensemble.IsolationForest(
            n_estimators=self.n_estimators, random_state=self.random_state,
            n_jobs=1).fit(features)
        scores = -self.forest.score_samples(features)
        self.threshold = float(np.quantile(scores, 1 - self.contamination))
        spread = 1.4826 * np.median(np.abs(scores - np.median(scores)))
        self.score_scale = float(max(spread, 1e-6))
        LOG.debug('%s: fitted on %d points of %d metrics; threshold %.4f',
                  self.name, points.shape[0], points.shape[1],
                  self.threshold)
        return True

    def _conditional(self, points):
        """Conditional deviations zeta (..., metrics) of normalised points."""
        diag = np.sqrt(np.diag(self.precision))
        return (points @ self.precision) / diag

    def _features(self, points, zeta):
        """What the forest sees: z and, with 2+ metrics, zeta (clipped)."""
        if points.shape[-1] < 2:
            return points
        return np.concatenate(
            [points, np.clip(zeta, -self.clip, self.clip)], axis=-1)

    # -- scoring ------------------------------------------------------------

    def score(self, frame):
        """Score every point of ``frame`` with the fitted model.

        The frame must have the resources and metrics it was fitted on
        (in any order; unknown resources are not scored).

        :returns: ``(score, flags, contributions, z)``: anomaly scores
            (resources, T) (NaN where not scored), flags (resources, T),
            per-metric contributions :math:`q` (resources, metrics, T) and
            the normalised values (resources, metrics, T), all in the
            order of ``frame``.
        """
        n_res, n_met, length = frame.values.shape
        score = np.full((n_res, length), np.nan)
        flags = np.zeros((n_res, length), dtype=bool)
        contrib = np.zeros((n_res, n_met, length))
        z_out = np.zeros((n_res, n_met, length))
        if not self.fitted:
            return score, flags, contrib, z_out
        r_index = {r: i for i, r in enumerate(self.resources)}
        rows = np.array([r_index.get(r, -1) for r in frame.resources])
        known = rows >= 0
        if not known.all():
            LOG.info('%s: %d resources of %r were not in the history; not '
                     'scored', self.name, int((~known).sum()), frame)
        if set(frame.metrics) != set(self.metrics):
            raise base.AnomalyError(
                reason="the frame has metrics %s but the detector was "
                       "fitted on %s" % (', '.join(frame.metrics),
                                         ', '.join(self.metrics)))
        order = [frame.metrics.index(m) for m in self.metrics]
        values = np.array(frame.values[known][:, order], dtype=np.float64)
        values[~np.isfinite(values)] = np.nan
        saved = self.median, self.scale
        self.median, self.scale = saved[0][rows[known]], \
            saved[1][rows[known]]
        try:
            z, ok = self._normalise(values)
        finally:
            self.median, self.scale = saved
        if (~ok).any():
            LOG.info('%s: %d points of %r have too many missing metrics; '
                     'not scored', self.name, int((~ok).sum()), frame)
        points = np.moveaxis(z, 1, 2)                  # (res, T, metrics)
        zeta = self._conditional(points)
        s = np.full(ok.shape, np.nan)
        if ok.any():
            s[ok] = -self.forest.score_samples(
                self._features(points[ok], zeta[ok]))
        q = np.moveaxis(points ** 2 + zeta ** 2, 2, 1)
        back = np.argsort(order)
        score[known] = s
        flags[known] = ok & (s > self.threshold)
        contrib[known] = q[:, back]
        z_out[known] = z[:, back]
        return score, flags, contrib, z_out

    def detect(self, frame, forecasts=None):
        """Fit on all but the last ``window`` seconds, and search those.

        ``forecasts`` is not used. Returns [] (with the reason logged)
        when the history is too short.
        """
        recent_steps = max(1, -(-self.window // frame.step))
        if frame.n_steps <= recent_steps:
            LOG.warning('%s: %r is not longer than the %ds window; no '
                        'history to fit on', self.name, frame, self.window)
            return []
        split = frame.start + (frame.n_steps - recent_steps) * frame.step
        if not self.fit(frame.window(end=split)):
            return []
        return self.detect_fitted(frame.window(start=split))

    def detect_fitted(self, frame):
        """The anomalies of ``frame`` under the model of the last fit."""
        score, flags, contrib, z = self.score(frame)
        rows, first, last = base.k_of_n_runs(flags, self.k, self.n)
        if not rows.size:
            return []
        fsum = lambda v: base.run_sums(v, rows, first, last)  # noqa: E731
        count = fsum(flags)
        excess = np.where(flags, (np.nan_to_num(score) - self.threshold) /
                          self.score_scale, 0.0)
        sev = base.severity(fsum(excess), count)
        mean_score = fsum(np.where(flags, score, 0.0)) / count
        total = np.maximum(contrib.sum(axis=1, keepdims=True), 1e-300)
        # Per-metric sums: metrics first, so that runs index the resources.
        msum = lambda v: fsum(np.moveaxis(  # noqa: E731
            np.where(flags[:, None], v, 0.0), 1, 0)) / count
        share = msum(contrib / total)                       # (M, runs)
        observed = msum(frame.values)
        z_mean = msum(z)
        r_index = {r: i for i, r in enumerate(self.resources)}
        fitted_rows = np.array([r_index.get(r, 0) for r in frame.resources])
        m_order = [self.metrics.index(m) for m in frame.metrics]
        expected = self.median[fitted_rows][:, m_order][rows].T  # (M, runs)
        metrics = np.array(frame.metrics)
        out = []
        for j in range(rows.size):
            rank = np.argsort(-share[:, j], kind='stable')
            names = [str(m) for m in metrics[rank]]
            out.append(base.Anomaly(
                resource_id=frame.resources[rows[j]],
                resource_kind=frame.kind, detector=self.name,
                kind=self.anomaly_kind, metrics=tuple(names),
                severity=sev[j],
                start=frame.start + int(first[j]) * frame.step,
                end=frame.start + (int(last[j]) + 1) * frame.step,
                observed={m: observed[i, j] for i, m in enumerate(metrics)
                          if np.isfinite(observed[i, j])},
                expected={m: expected[i, j] for i, m in enumerate(metrics)
                          if np.isfinite(expected[i, j])},
                steps=int(count[j]),
                ongoing=bool(last[j] == frame.n_steps - 1),
                details={
                    'contributions': [
                        {'metric': str(metrics[i]),
                         'share': float(share[i, j]),
                         'z': float(z_mean[i, j])} for i in rank],
                    'score': float(mean_score[j]),
                    'threshold': self.threshold,
                    'k': self.k, 'n': self.n,
                    'step': int(frame.step)}))
        out.sort(key=lambda a: -a.severity)
        LOG.debug('%s: %d anomalies in %r', self.name, len(out), frame)
        return out
