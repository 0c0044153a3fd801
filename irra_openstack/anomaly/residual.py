"""The residual detector: actuals far outside their calibrated interval.

For series :math:`i` and step :math:`t`, with the forecast interval
:math:`[L_{it}, U_{it}]` at the configured level (calibrated on recent
residuals, so that a 90 % interval holds about 90 % of normal values) and
the actual :math:`y_{it}`, the *excess* is the distance outside the
interval in interval widths:

.. math::

    w_{it} = \\max(U_{it} - L_{it},\\ \\phi |\\hat y_{it}| + \\epsilon)

    e_{it} = \\max\\left(\\frac{y_{it} - U_{it}}{w_{it}},
                        \\frac{L_{it} - y_{it}}{w_{it}},\\ 0\\right)

where :math:`\\hat y` is the point forecast, :math:`\\phi` the
``min_width_fraction`` (so that a zero-width interval of a constant series
does not turn a rounding error into an anomaly) and :math:`\\epsilon` a
tiny constant. A step is *flagged* when :math:`e_{it} > m`, the
``margin``; with a 90 % interval about 10 % of normal steps are outside it,
which is why a margin and the k-of-n rule (:mod:`.base`) are needed. The
excess is capped at :data:`MAX_EXCESS` so that the severity stays finite.

A missing actual (NaN) is never flagged and counts as a normal step in the
k-of-n windows. A series whose forecast is not valid (no history: the
forecast is a cold-start guess) is not checked; the log says how many.
"""

import numpy as np
from oslo_config import cfg
from oslo_log import log as logging

from irra_openstack.anomaly import base

LOG = logging.getLogger(__name__)

#: The largest excess, in interval widths, counted for one step.
MAX_EXCESS = 1000.0
#: Added to every interval width, so that it is never zero.
_EPS = 1e-9

DIRECTIONS = ('both', 'above', 'below')


def _reduce_max(values, rows, first, last):
    """Maximum of ``values`` (series, T) over each run."""
    if not rows.size:
        return np.zeros(0)
    length = values.shape[1]
    flat = np.append(values.ravel(), 0.0)
    bounds = np.empty(2 * rows.size, dtype=np.int64)
    bounds[0::2] = rows * length + first
    bounds[1::2] = rows * length + last + 1
    return np.maximum.reduceat(flat, bounds)[0::2]


class ResidualDetector(base.AnomalyDetector):
    """Actuals outside the calibrated forecast interval, k of n steps.

    :param k: flagged steps needed among ``n`` consecutive ones.
    :param n: window of the k-of-n rule, in steps.
    :param margin: how far outside the interval, in interval widths, a
        value must be to be flagged (0 flags every value outside).
    :param min_width_fraction: interval widths are at least this share of
        the absolute point forecast.
    :param direction: ``both``, ``above`` (only values above the
        interval, e.g. for a surge) or ``below``.
    """

    name = 'residual'
    description = ('actuals outside the calibrated forecast interval by a '
                   'margin, for k of n steps')
    anomaly_kind = 'interval'
    DEFAULT_K = 3
    DEFAULT_N = 5
    DEFAULT_MARGIN = 0.25
    DEFAULT_MIN_WIDTH_FRACTION = 0.01

    def __init__(self, k=None, n=None, margin=DEFAULT_MARGIN,
                 min_width_fraction=DEFAULT_MIN_WIDTH_FRACTION,
                 direction='both'):
        super().__init__(k=k, n=n)
        self.margin = base.positive_float('margin', margin)
        self.min_width_fraction = base.positive_float(
            'min_width_fraction', min_width_fraction)
        if direction not in DIRECTIONS:
            raise base.AnomalyError(
                reason="direction must be one of %s, got %r"
                % (', '.join(DIRECTIONS), direction))
        self.direction = direction

    @classmethod
    def get_config_opts(cls):
        return super().get_config_opts() + [
            cfg.FloatOpt(
                'margin', default=cls.DEFAULT_MARGIN, min=0.0,
                help='How far outside the calibrated forecast interval, '
                     'in interval widths, an actual value must be for its '
                     'step to be flagged. 0 flags every value outside the '
                     'interval; with a 90 % interval about one normal '
                     'value in ten is outside it.'),
            cfg.FloatOpt(
                'min_width_fraction', default=cls.DEFAULT_MIN_WIDTH_FRACTION,
                min=0.0,
                help='Interval widths are taken to be at least this share '
                     'of the absolute point forecast, so that the '
                     'zero-width interval of a constant series does not '
                     'turn tiny changes into anomalies.'),
            cfg.StrOpt(
                'direction', default='both', choices=DIRECTIONS,
                help='Which side of the interval is anomalous: both, '
                     'above (surges only) or below (drops only).'),
        ]

    def __repr__(self):
        return ('<ResidualDetector k=%d n=%d margin=%g direction=%s>'
                % (self.k, self.n, self.margin, self.direction))

    # -- the interface ----------------------------------------------------

    def detect(self, frame, forecasts=None):
        """Compare ``frame`` with each forecast of ``forecasts``.

        :param frame: actual values; the steps of each forecast are taken
            from it (missing steps or resources are NaN).
        :param forecasts: ``{metric: Forecast}``; the forecast's series
            are resource ids of ``frame``.
        :returns: the anomalies of every metric, most severe first.
        """
        found = []
        for metric, forecast in sorted((forecasts or {}).items()):
            if metric not in frame.metrics:
                LOG.info('%s: no actual values of %s in %r; not checked',
                         self.name, metric, frame)
                continue
            if forecast.step != frame.step or (
                    (forecast.start - frame.start) % frame.step):
                LOG.warning('%s: the forecast of %s (step %ds from %d) is '
                            'not on the grid of %r; not checked', self.name,
                            metric, forecast.step, forecast.start, frame)
                continue
            window = frame.window(forecast.start, forecast.end)
            index = {r: i for i, r in enumerate(window.resources)}
            rows = np.array([index.get(s, -1) for s in forecast.series],
                            dtype=np.int64)
            actual = np.full(forecast.point.shape, np.nan)
            known = rows >= 0
            if not known.all():
                LOG.info('%s: %d of %d series of the %s forecast are not '
                         'in the frame; not checked', self.name,
                         int((~known).sum()), rows.size, metric)
            actual[known] = window.metric(metric)[rows[known]]
            found.extend(self.detect_arrays(
                actual, forecast.point, forecast.lower, forecast.upper,
                start=forecast.start, step=forecast.step,
                series=forecast.series, metric=metric,
                resource_kind=frame.kind, valid=forecast.valid,
                level=forecast.level))
        found.sort(key=lambda a: -a.severity)
        return found

    def excess(self, actual, point, lower, upper):
        """Signed excess in interval widths (positive above, negative below).

        Zero inside the interval and where the actual is missing.
        """
        actual = np.asarray(actual, dtype=np.float64)
        point = np.asarray(point, dtype=np.float64)
        width = np.maximum(np.asarray(upper, dtype=np.float64) - lower,
                           self.min_width_fraction * np.abs(point) + _EPS)
        with np.errstate(invalid='ignore', over='ignore'):
            above = np.clip((actual - upper) / width, 0.0, MAX_EXCESS)
            below = np.clip((lower - actual) / width, 0.0, MAX_EXCESS)
        if self.direction == 'above':
            below = np.zeros_like(below)
        elif self.direction == 'below':
            above = np.zeros_like(above)
        signed = np.where(above > 0, above, -below)
        return np.nan_to_num(signed, nan=0.0)

    def detect_arrays(self, actual, point, lower, upper, start, step,
                      series=None, metric=None, resource_kind='vm',
                      valid=None, level=None):
        """The anomalies of arrays aligned with a forecast.

        :param actual: float array (series, T), NaN for missing.
        :param point: point forecasts (series, T); ``lower`` and
            ``upper`` are the interval bounds, same shape.
        :param start: time of step 0; ``step``: seconds between steps.
        :param series: resource ids, by default the row indexes.
        :param valid: bool array (series,): rows to check; by default all.
        :returns: a list of :class:`~.base.Anomaly`, most severe first.
        """
        actual = np.array(actual, dtype=np.float64, ndmin=2)
        point, lower, upper = (np.array(a, dtype=np.float64, ndmin=2)
                               for a in (point, lower, upper))
        shape = actual.shape
        for name, arr in (('point', point), ('lower', lower),
                          ('upper', upper)):
            if arr.shape != shape:
                raise base.AnomalyError(
                    reason="%s has shape %s but the actuals %s"
                    % (name, arr.shape, shape))
        if series is None:
            series = [str(i) for i in range(shape[0])]
        elif len(series) != shape[0]:
            raise base.AnomalyError(reason="%d series ids for %d series"
                                    % (len(series), shape[0]))
        actual[~np.isfinite(actual)] = np.nan
        check = np.ones(shape[0], dtype=bool) if valid is None else \
            np.asarray(valid, dtype=bool).copy()
        bounds_ok = (np.isfinite(point) & np.isfinite(lower) &
                     np.isfinite(upper)).all(axis=1)
        no_actual = ~np.isfinite(actual).any(axis=1)
        for mask, why in ((~check, 'no valid forecast'),
                          (check & ~bounds_ok, 'non-finite forecast'),
                          (check & bounds_ok & no_actual,
                           'no actual value')):
            if mask.any():
                LOG.info('%s: %d of %d %s series of %s not checked: %s',
                         self.name, int(mask.sum()), shape[0],
                         resource_kind, metric or 'a metric', why)
        check &= bounds_ok & ~no_actual

        signed = self.excess(actual, point, lower, upper)
        signed[~check] = 0.0
        magnitude = np.abs(signed)
        flags = magnitude > self.margin
        rows, first, last = base.k_of_n_runs(flags, self.k, self.n)
        if not rows.size:
            return []
        fsum = lambda v: base.run_sums(v, rows, first, last)  # noqa: E731
        count = fsum(flags)
        excess_sum = fsum(magnitude * flags)
        sev = base.severity(excess_sum, count)
        observed = fsum(np.where(flags, actual, 0.0)) / count
        expected = fsum(np.where(flags, point, 0.0)) / count
        low = fsum(np.where(flags, lower, 0.0)) / count
        high = fsum(np.where(flags, upper, 0.0)) / count
        direction = np.where(fsum(signed * flags) >= 0, 'above', 'below')
        peak = _reduce_max(magnitude * flags, rows, first, last)
        length = shape[1]
        out = []
        for j in range(rows.size):
            out.append(base.Anomaly(
                resource_id=series[rows[j]], resource_kind=resource_kind,
                detector=self.name, kind=self.anomaly_kind,
                metrics=(metric or 'value',), severity=sev[j],
                start=start + int(first[j]) * step,
                end=start + (int(last[j]) + 1) * step,
                observed={metric or 'value': observed[j]},
                expected={metric or 'value': expected[j]},
                steps=int(count[j]), ongoing=bool(last[j] == length - 1),
                details={'direction': str(direction[j]),
                         'max_excess': float(peak[j]),
                         'mean_excess': float(excess_sum[j] / count[j]),
                         'lower': float(low[j]), 'upper': float(high[j]),
                         'level': None if level is None else float(level),
                         'margin': self.margin, 'k': self.k, 'n': self.n,
                         'step': int(step)}))
        out.sort(key=lambda a: -a.severity)
        LOG.debug('%s: %d anomalies in %d series of %s', self.name,
                  len(out), shape[0], metric or 'a metric')
        return out
