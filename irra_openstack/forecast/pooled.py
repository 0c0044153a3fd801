"""Common base of the global (pooled) learned forecasters: ridge and gbm.

One model is learned across all series at once, on the scale-free rows of
:mod:`.features`: it predicts ``z = (y[o + h] - last) / scale`` from the
features of ``(series, origin, step)`` rows, and the forecast is ``last +
scale * zhat``. Training rows are a random sample (``max_rows``) of all
``(series, origin, step)`` triples of the training window, which bounds
the cost whatever the number of series.

Out-of-sample calibration: :meth:`fit` trains on the history *before* the
calibration back-test (:meth:`.base.Forecaster._origins`), and calibrates
the intervals on the back-test residuals of that same model, which has
never seen them: a split-conformal calibration whose scores are
exchangeable with those of the forecasts, because the forecasts come from
the very model that made them. Retraining on the latest data is the job
of the scheduled retraining (:mod:`.learning`); ``refit='always'``
retrains on the whole history right after calibrating instead (more data,
the latest included, but then the calibration residuals are those of
another model, and the intervals rely on the ACI updates to correct the
difference). By default (``'auto'``) that is done for data sets of fewer
than ``small_series`` series, where the training is cheap and the last
``calibration_window`` is a large share of the rows: on the Azure trace
(100 VMs, 19 days of training) it lowered the relMAE from 0.675 to 0.669
and gave narrower calibrated intervals at the same coverage.

The features are built once per (series, origin, step) row, with the
horizon step as a column; a model without it (one model per step, such
as ridge) drops that column. :func:`training_rows` lets several models
share the rows they train on, and :meth:`PooledForecaster.predict_rows`
the rows they predict from (see :mod:`.auto`).

Threads: the models run on ``threads`` threads. A forecaster built
directly uses one; the service's option (``[forecasters.gbm] threads``,
and ridge's) is :data:`SERVICE_THREADS` by default, and 0 lets the
numerical libraries use every core. On a host busy with other services,
OpenMP's spinning threads can cost more than they give: one is then
the safer choice.
"""

import abc

import numpy as np
from oslo_config import cfg
from oslo_log import log as logging

from irra_openstack.forecast import base
from irra_openstack.forecast import conformal
from irra_openstack.forecast import features

LOG = logging.getLogger(__name__)

#: Default number of training rows sampled.
DEFAULT_MAX_ROWS = 60000
#: Most rows (series x origins x steps) of a calibration back-test; fewer
#: origins are used for many series (down to :data:`MIN_ORIGINS`).
BACKTEST_ROWS = 600000
MIN_ORIGINS = 4
#: Below this many series, training uses more rows, up to
#: :data:`MAX_BOOST` times the configured ones (and gbm more boosting
#: iterations, up to its square): the back-test and the forecasts of few
#: series are cheap, and a small data set is where a bigger model helps
#: most.
SMALL_SERIES = 1000
#: Most rows of a back-test on a sample of the series (see
#: :func:`backtest_series`): 208 series at a 1-hour horizon of 5-minute
#: steps, each with 30 residuals per step, 75,000 pooled scores in all.
SAMPLE_ROWS = 75000
#: Training rows per series, on average, below which the rows come from
#: a random subset of the series (``max_rows`` over this many of them).
ROWS_PER_SERIES = 30
MAX_BOOST = 3.0
#: Default of the service's ``threads`` option.
SERVICE_THREADS = 2
#: Values of ``refit``.
REFIT = ('auto', 'always', 'never')


def capped_origins(forecaster, origins, n_series):
    """Keep at most ``BACKTEST_ROWS / (n_series * horizon)`` origins.

    The most recent origin is kept and the others spread evenly; at least
    :data:`MIN_ORIGINS` (series with fewer residuals than ``min_residuals``
    borrow the pooled interval, see :mod:`.conformal`). When the back-test
    runs on a sample of the series (:func:`backtest_series`), the budget
    is :data:`SAMPLE_ROWS` over the sample instead.
    """
    sample = _sample_size(forecaster, n_series)
    if sample is None:
        most = BACKTEST_ROWS // max(1, n_series * forecaster.horizon)
    else:
        most = SAMPLE_ROWS // max(1, sample * forecaster.horizon)
    most = max(MIN_ORIGINS, most)
    if origins.size <= most:
        return origins
    return np.unique(np.round(np.linspace(
        origins[0], origins[-1], most)).astype(np.int64))


def _sample_size(forecaster, n_series):
    """Series of the sampled back-test, or None for all of them."""
    per_series = BACKTEST_ROWS // max(1, n_series * forecaster.horizon)
    if per_series >= forecaster.min_residuals:
        return None
    sample = SAMPLE_ROWS // max(
        1, forecaster.min_residuals * forecaster.horizon)
    return None if sample >= n_series else max(1, sample)


def backtest_series(forecaster, n_series):
    """Which series the calibration back-test runs on (None: all).

    With so many series that the back-test budget (:data:`BACKTEST_ROWS`)
    cannot give each of them ``min_residuals`` residuals per horizon step,
    no series could get an interval of its own: they all borrow the
    pooled one (see :mod:`.conformal`). The pooled interval does not need
    every series, so the back-test then runs on a random sample of them
    (fixed by the forecaster's seed), with enough origins each for
    ``min_residuals`` residuals, within :data:`SAMPLE_ROWS` rows: more
    points in time and a quarter of the rows. The series outside the
    sample keep the default model (see :mod:`.auto`).

    :returns: a sorted int array of series indexes, or None.
    """
    sample = _sample_size(forecaster, n_series)
    if sample is None:
        return None
    rng = np.random.default_rng(getattr(forecaster, 'seed', 0))
    return np.sort(rng.choice(n_series, sample, replace=False))


_CONTROLLER = []


def _controller():
    """One threadpoolctl controller for the process.

    Finding the thread pools (a scan of the loaded libraries) costs a few
    milliseconds, more than a small prediction: it is done once, after
    scikit-learn (whose OpenMP runtime is one of them) is loaded.
    """
    if not _CONTROLLER:
        from sklearn import ensemble  # noqa: F401  loads its OpenMP
        from threadpoolctl import ThreadpoolController

        _CONTROLLER.append(ThreadpoolController())
    return _CONTROLLER[0]


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
            'threads',
            default=SERVICE_THREADS,
            min=0,
            help='Threads of the model fitting and prediction (0: as '
                 'many as the numerical libraries choose, usually one '
                 'per core). Two threads made the training and forecast '
                 'of 10,000 series about 1.3 times faster than one on a '
                 'quiet 2-core host; on a host busy with other services, '
                 'spinning OpenMP threads can cost more than they give, '
                 'and 1 is then the safer choice.'),
        cfg.IntOpt(
            'small_series',
            default=SMALL_SERIES,
            min=0,
            help='With fewer series than this, the model trains on up to '
                 '%g times max_rows, in proportion small_series / series '
                 '(and gbm boosts up to %g times max_iter, the square of '
                 'that factor): few series forecast fast, so the time '
                 'goes to a better model. 0 turns this off.'
                 % (MAX_BOOST, MAX_BOOST ** 2)),
        cfg.StrOpt(
            'refit',
            default='auto',
            choices=[('auto', 'when the data set has fewer than '
                              'small_series series'),
                     ('always', 'after every calibration'),
                     ('never', 'keep the model the intervals were '
                               'calibrated on')],
            help='Whether the model is trained again on all the history '
                 'after its intervals are calibrated on the most recent '
                 'calibration_window (on which it was not trained). More '
                 'and newer data, at twice the training time; the '
                 'adaptive interval updates absorb the difference between '
                 'the two models.'),
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
    :param refit: retrain on the whole history after calibrating:
        ``'always'`` (or True), ``'never'`` (or False), or ``'auto'``:
        when the data set has fewer than ``small_series`` series.
    :param seed: seed of the row sampling and of the model.
    :param transform: learn ``arcsinh(z)`` instead of ``z``.
    :param threads: threads of fitting and predicting (0: the
        libraries' default).
    :param small_series: see :meth:`boost`.
    """

    uses_exog = True
    #: Whether the features include the horizon step (one model for all
    #: steps) or not (one model per step).
    pools_steps = True

    def __init__(self, step, horizon, max_rows=DEFAULT_MAX_ROWS,
                 train_window=None, refit='auto', seed=0, transform=False,
                 threads=1, small_series=SMALL_SERIES, **kwargs):
        super().__init__(step, horizon, **kwargs)
        self.small_series = base._whole('small_series', small_series, 0)
        self.threads = max(0, int(threads))
        self.transform = bool(transform)
        self.max_rows = base._whole('max_rows', max_rows, 1)
        self.train_window = base._whole('train_window', train_window or 0,
                                        0)
        self.refit = {True: 'always', False: 'never'}.get(refit, refit)
        if self.refit not in REFIT:
            raise base.ForecastError(
                reason="refit must be one of %s, got %r"
                % (', '.join(REFIT), refit))
        self.seed = int(seed)
        self._design = None
        self._trained = False
        self._n_exog = 0
        #: Cycles measured during the current fit (see :meth:`_cycles`).
        self._cycle_box = None

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

    def fit(self, history, start, exog=None):
        self._cycle_box = {}
        try:
            return super().fit(history, start, exog=exog)
        finally:
            self._cycle_box = None

    def _cycles(self, history, end, period, series=None):
        """:func:`.features.detect_cycles` of ``history[:, :end]``.

        In a fit, the training rows and the calibration back-test (whose
        first origin is the end of the training part) need the same
        cycles: they are measured once per fit, for the series asked
        (``series``, all by default) and kept for the next caller, which
        may ask for others. Outside a fit nothing is kept, so a caller
        may change its array between two forecasts.

        :returns: ``(cycle, strength)`` for every series of ``history``;
            those not asked for (and not measured before) have none.
        """
        n_series = history.shape[0]
        box = self._cycle_box
        kept = box.get(int(end)) if box is not None else None
        if kept is None or kept[0] is not history:
            kept = (history,
                    np.zeros((n_series, features.CYCLES), dtype=np.int64),
                    np.zeros((n_series, features.CYCLES)),
                    np.zeros(n_series, dtype=bool))
            if box is not None:
                box[int(end)] = kept
        _, cycle, strength, done = kept
        todo = np.flatnonzero(~done) if series is None else np.setdiff1d(
            np.asarray(series, dtype=np.int64), np.flatnonzero(done))
        if todo.size:
            # Only the last days the cycles are measured on.
            first = max(0, int(end) - features.CYCLE_DAYS * period)
            window = history[:, first:int(end)]
            if todo.size < n_series:
                window = window[todo]
            c, st = features.detect_cycles(window, period,
                                           threads=self._block_threads())
            cycle[todo], strength[todo] = c, st
            done[todo] = True
        return cycle, strength

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

    def refits(self):
        """Whether the model is retrained on all data after calibrating."""
        if self.refit == 'auto':
            return self.boost() > 1.0
        return self.refit == 'always'

    def _after_calibration(self, history, start):
        if self.refits() and self._cut < history.shape[1]:
            self._train_on(history, start, history.shape[1])

    def _limits(self):
        """Context manager limiting the threads of the model."""
        import contextlib

        if not self.threads:
            return contextlib.nullcontext()
        return _controller().limit(limits=self.threads)

    def _block_threads(self):
        """Threads of the feature rows and cycles (``threads``; 0: all)."""
        import os

        return self.threads or os.cpu_count() or 1

    def _new_design(self, start, n_exog):
        return features.Design(self.step, start,
                               epoch_known=self.epoch_known, with_h=True,
                               n_exog=n_exog, threads=self._block_threads())

    def _own(self, X):
        """The columns of this model (rows always carry the step)."""
        return X if self.pools_steps else X[:, 1:]

    def training_rows(self, history, start, end):
        """Sampled training rows ``(X, z, h)`` of ``history[:, :end]``.

        ``X`` has the step column; ``z`` is finite. Models with the same
        ``max_rows``, ``train_window`` and ``seed`` sample the same rows.
        """
        n_exog = 0 if self._exog is None else self._exog.shape[1]
        design = self._new_design(start, n_exog)
        rng = np.random.default_rng(self.seed)
        first = self._warmup()
        if self.train_window:
            first = max(first, end - self.train_window)
        n_rows = self.train_rows()
        # Many series: the rows come from a random subset of them,
        # ROWS_PER_SERIES each on average, so the features (running sums
        # over each series' whole history) cost what the rows need.
        n_series = history.shape[0]
        pick = None
        if n_series * ROWS_PER_SERIES > n_rows:
            pick = np.sort(rng.choice(
                n_series, max(1, n_rows // ROWS_PER_SERIES),
                replace=False))
        s, o, h = features.sample_rows(
            n_series if pick is None else pick.size, end, self.horizon,
            first, rng, n_rows, last=end)
        # The training rows share the cycles of the whole training part.
        cycle, strength = self._cycles(history, end, design.period,
                                       series=pick)
        exog = self._exog
        if pick is not None:
            history = history[pick]
            exog = None if exog is None else exog[pick]
            cycle, strength = cycle[pick], strength[pick]
        X, last, scale = design.rows(history, s, o, h, exog,
                                     cycles=(cycle, strength))
        z = design.targets(history, s, o, h, last, scale)
        ok = np.isfinite(z)
        return X[ok], z[ok], h[ok]

    def boost(self):
        """Factor (1 .. MAX_BOOST) of the training budget for few series.

        ``small_series / series`` clipped to ``[1, MAX_BOOST]``, for the
        series of the current fit (1 before any, or when
        ``small_series`` is 0).
        """
        n = getattr(self, '_n_now', None)
        if not self.small_series or not n:
            return 1.0
        return float(min(MAX_BOOST, max(1.0, self.small_series / float(n))))

    def train_rows(self):
        """Training rows sampled in the current fit."""
        return int(round(self.max_rows * self.boost()))

    def rows_key(self):
        """What decides the training rows (for sharing them)."""
        return (self.train_rows(), self.train_window, self.seed)

    def _train_on(self, history, start, end, rows=None):
        X, z, h = rows if rows is not None else self.training_rows(
            history, start, end)
        self._n_exog = 0 if self._exog is None else self._exog.shape[1]
        self._design = self._new_design(start, self._n_exog)
        if z.size < 10:
            LOG.info('%s: only %d training rows; the model forecasts '
                     'the last value', self.name, z.size)
            self._trained = False
            return
        with self._limits():
            self._train(self._own(X), np.arcsinh(z) if self.transform
                        else z, h)
        self._trained = True
        LOG.debug('%s trained on %d rows x %d features', self.name,
                  z.size, X.shape[1])

    def _exog_for(self, history):
        """The exogenous inputs the model was trained with, or NaN."""
        exog = self._exog
        if self._n_exog == 0:
            return None
        if exog is None or exog.shape[1] != self._n_exog:
            return np.full((history.shape[0], self._n_exog,
                            history.shape[1]), np.nan)
        return exog

    def iter_rows(self, history, origins, series=None):
        """Feature rows of every (series, origin, step), in chunks.

        Yields ``(i, j, X, h, last, scale)`` for the origins ``i:j``;
        the rows are in (origin, series, step) order.

        :param series: indexes of the series (rows of ``history``) to
            build the rows of; all by default.
        """
        series = (np.arange(history.shape[0]) if series is None
                  else np.asarray(series, dtype=np.int64))
        n_series = series.size
        horizon = self.horizon
        exog = self._exog_for(history)
        design = self._new_design(self._start,
                                  0 if exog is None else exog.shape[1])
        per_origin = n_series * horizon
        chunk = max(1, _PREDICT_CHUNK // max(per_origin, 1))
        s_grid = np.repeat(series, horizon)
        h_grid = np.tile(np.arange(horizon), n_series)
        # Measured once, before the earliest origin: no chunk sees data
        # after any of the origins.
        cycles = self._cycles(
            history, int(origins.min()) if origins.size else
            history.shape[1], design.period,
            series=None if series.size == history.shape[0] else series)
        for i in range(0, origins.size, chunk):
            sub = origins[i:i + chunk]
            s = np.tile(s_grid, sub.size)
            h = np.tile(h_grid, sub.size)
            o = np.repeat(sub, per_origin)
            X, last, scale = design.rows(history, s, o, h, exog,
                                         cycles=cycles)
            yield i, i + sub.size, X, h, last, scale

    def _z(self, X, h, which='point'):
        with self._limits():
            if which == 'point':
                z = self._predict_z(self._own(X), h)
            else:
                z = self._predict_z(self._own(X), h, which)
        if self.transform:
            z = np.sinh(np.clip(z, -10.0, 10.0))
        return z

    def predict_rows(self, X, h, last, scale, band=False):
        """Point (and band half-widths) of rows from :meth:`iter_rows`.

        :returns: ``(y, w_lo, w_hi)`` float arrays (n,); the band is
            None unless ``band`` and the model has one.
        """
        w_lo = w_hi = None
        if self._trained:
            z = self._z(X, h)
            # A series flat over the last day (its scale is the floor) is
            # forecast flat.
            with np.errstate(invalid='ignore'):
                flat = scale <= 1e-3 * (np.abs(last) + 1e-3) * (
                    1.0 + 1e-9)
            z = np.where(flat, 0.0, z)
            z = np.clip(z, -features.Z_CLIP, features.Z_CLIP)
            if band and self._has_band():
                z_lo = self._z(X, h, 'lower')
                z_hi = self._z(X, h, 'upper')
                w_lo, w_hi = conformal.band_halfwidths(z, z_lo, z_hi,
                                                       MIN_BAND)
                w_lo, w_hi = w_lo * scale, w_hi * scale
        else:
            z = np.zeros(X.shape[0])
        return last + scale * z, w_lo, w_hi

    def _backtest_series(self, n_series):
        return backtest_series(self, n_series)

    def _paths_band(self, history, origins, series=None):
        n_series = history.shape[0] if series is None else len(series)
        origins = np.asarray(origins, dtype=np.int64)
        horizon = self.horizon
        shape = (n_series, origins.size, horizon)
        out = np.full(shape, np.nan)
        band = self._has_band()
        w_lo = np.full(shape, np.nan) if band else None
        w_hi = np.full(shape, np.nan) if band else None
        if n_series == 0 or origins.size == 0:
            return out, w_lo, w_hi
        for i, j, X, h, last, scale in self.iter_rows(history, origins,
                                                      series):
            y, lo, hi = self.predict_rows(X, h, last, scale, band=band)
            out[:, i:j] = _to_paths(y, j - i, n_series, horizon)
            if band:
                w_lo[:, i:j] = _to_paths(lo, j - i, n_series, horizon)
                w_hi[:, i:j] = _to_paths(hi, j - i, n_series, horizon)
        return out, w_lo, w_hi

    def _paths(self, history, origins):
        return self._paths_band(history, origins)[0]


#: Smallest band half-width, in scales (see :mod:`.features`): one
#: twentieth of the mean absolute one-step change over the last day.
MIN_BAND = 0.05


def _to_paths(values, n_origins, n_series, horizon):
    """Rows in (origin, series, step) order to (series, origin, step)."""
    return values.reshape(n_origins, n_series, horizon).transpose(1, 0, 2)
