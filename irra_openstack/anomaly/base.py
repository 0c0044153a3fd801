"""The anomaly detector plugin base and the anomaly record.

A detector (namespace ``irra.anomaly_detectors``) looks at the actual values
of many series at once, a :class:`~irra_openstack.frame.MetricFrame`, and
optionally at the calibrated forecasts made for them, and returns a list of
:class:`Anomaly` records. All the numerical work is one numpy operation over
all series; only the records themselves are built one by one.

Runs: k of n
------------
Every detector first decides, per series and per step, whether the step is
*flagged* (outside its interval, or a multivariate outlier). A single flagged
step is often noise, so an anomaly needs ``k`` flagged steps among ``n``
consecutive ones. With :math:`f_t \\in \\{0, 1\\}` the flags and

.. math:: C_t = \\sum_{j=t-n+1}^{t} f_j

a window ending at ``t`` *fires* when :math:`C_t \\ge k` (windows at the very
start of the data are shorter than ``n``). Every step inside a firing window
is *covered*; a maximal run of covered steps is one anomaly, trimmed to its
first and last flagged step. So flags closer than ``n`` steps apart that
fire together merge into one anomaly with one start and one end.

Severity
--------
Severity is a number >= 0, larger is worse, on the same scale for every
detector:

.. math:: \\text{severity} = \\bar{e} \\sqrt{m}

where :math:`m` is the number of flagged steps of the anomaly and
:math:`\\bar e` the mean *excess* over them, in the detector's own unit: for
the residual detector, how far outside the interval the actual is, in
interval widths; for the isolation forest, how far past its threshold the
anomaly score is, in standard deviations of the scores seen in training.
Thus a value one interval width out for four steps has severity 2. As a
guide: below :data:`SEVERITY_MEDIUM` is low, from it to
:data:`SEVERITY_HIGH` medium, above high (:func:`severity_band`).
"""

import abc
import dataclasses
import types

import numpy as np
from oslo_config import cfg
from oslo_log import log as logging

from irra_openstack import exception
from irra_openstack import frame as frame_mod
from irra_openstack import plugins

LOG = logging.getLogger(__name__)

#: Namespace of anomaly detector plugins.
NAMESPACE = 'irra.anomaly_detectors'

#: Severity from which an anomaly is "medium".
SEVERITY_MEDIUM = 1.0
#: Severity from which an anomaly is "high".
SEVERITY_HIGH = 3.0


class AnomalyError(exception.IrraError):
    """Bad arguments to a detector (never raised because of bad data)."""

    msg_fmt = "Invalid anomaly detection request: %(reason)s"


def severity_band(severity):
    """'low', 'medium' or 'high' for a severity (see the module doc)."""
    if severity >= SEVERITY_HIGH:
        return 'high'
    if severity >= SEVERITY_MEDIUM:
        return 'medium'
    return 'low'


def _frozen(mapping):
    return types.MappingProxyType(dict(mapping or {}))


@dataclasses.dataclass(frozen=True, eq=False)
class Anomaly:
    """One anomaly of one resource, over a stretch of time.

    :param resource_id: the VM or host UUID, application or region name.
    :param resource_kind: one of ``vm``, ``host``, ``app``, ``region``.
    :param detector: name of the detector plugin that found it.
    :param kind: what the detector saw: ``interval`` (actuals outside the
        calibrated forecast interval) or ``multivariate``.
    :param metrics: the metrics involved, most to blame first; the first
        is :attr:`metric`.
    :param severity: >= 0, see the module doc for the scale.
    :param start: time of the first anomalous step (seconds).
    :param end: time just after the last anomalous step (exclusive).
    :param observed: per metric, the mean actual value over the flagged
        steps.
    :param expected: per metric, the mean expected value over the same
        steps (the forecast, or the resource's normal level).
    :param steps: number of flagged steps (at most ``(end - start) /
        step``).
    :param ongoing: the anomaly runs up to the last step that was looked
        at, so it may go on.
    :param root_cause: the root-cause report
        (:mod:`irra_openstack.anomaly.rootcause`), or None.
    :param details: what else the detector reports (per-metric
        contributions, thresholds), JSON-serialisable.
    :param project_id: owner of the resource, when known.
    :param uuid: the id of the stored record, once stored.
    """

    resource_id: str
    resource_kind: str
    detector: str
    kind: str
    metrics: tuple
    severity: float
    start: int
    end: int
    observed: types.MappingProxyType = None
    expected: types.MappingProxyType = None
    steps: int = 1
    ongoing: bool = False
    root_cause: dict = None
    details: types.MappingProxyType = None
    project_id: str = None
    uuid: str = None

    def __post_init__(self):
        set_ = object.__setattr__
        set_(self, 'resource_id', str(self.resource_id))
        if isinstance(self.metrics, str):
            set_(self, 'metrics', (self.metrics,))
        set_(self, 'metrics', tuple(str(m) for m in self.metrics))
        if self.resource_kind not in frame_mod.RESOURCE_KINDS:
            raise AnomalyError(
                reason="resource kind must be one of %s, got %r"
                % (', '.join(frame_mod.RESOURCE_KINDS), self.resource_kind))
        severity = float(self.severity)
        if not (np.isfinite(severity) and severity >= 0):
            raise AnomalyError(reason="severity must be a finite number "
                                      ">= 0, got %r" % (self.severity,))
        set_(self, 'severity', severity)
        set_(self, 'start', int(self.start))
        set_(self, 'end', int(self.end))
        if self.end < self.start:
            raise AnomalyError(reason="an anomaly cannot end (%d) before "
                                      "it starts (%d)" % (self.end,
                                                          self.start))
        set_(self, 'steps', int(self.steps))
        set_(self, 'ongoing', bool(self.ongoing))
        for name in ('observed', 'expected'):
            set_(self, name, _frozen(
                {str(k): float(v)
                 for k, v in (getattr(self, name) or {}).items()}))
        set_(self, 'details', _frozen(self.details))

    @property
    def metric(self):
        """The main metric (the first of :attr:`metrics`), or None."""
        return self.metrics[0] if self.metrics else None

    @property
    def band(self):
        """'low', 'medium' or 'high' (:func:`severity_band`)."""
        return severity_band(self.severity)

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)

    def to_dict(self):
        """A JSON-serialisable dict of the record."""
        out = {f.name: getattr(self, f.name)
               for f in dataclasses.fields(self)}
        for name in ('observed', 'expected', 'details'):
            out[name] = dict(out[name])
        out['metrics'] = list(self.metrics)
        return out

    def __repr__(self):
        return ('<Anomaly %s %s %s [%d, %d) severity %.3g by %s>'
                % (self.resource_kind, self.resource_id, self.kind,
                   self.start, self.end, self.severity, self.detector))


# -- vectorised helpers shared by the detectors ---------------------------

def k_of_n_runs(flags, k, n):
    """Anomalous runs of every series under the k-of-n rule.

    :param flags: bool array (series, T): flagged steps.
    :returns: int arrays ``(rows, first, last)``, one entry per run: the
        series, and the first and last flagged step of the run
        (inclusive), in row-major order. See the module doc for the rule.
    """
    flags = np.asarray(flags, dtype=bool)
    n_series, length = flags.shape
    if not length or not n_series:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    zero = np.zeros((n_series, 1), dtype=np.int64)
    cum = np.concatenate([zero, np.cumsum(flags, axis=1)], axis=1)
    steps = np.arange(length)
    lo = np.maximum(0, steps - n + 1)
    fires = (cum[:, steps + 1] - cum[:, lo]) >= k
    # Step j is covered when a window ending in [j, j + n - 1] fires.
    fcum = np.concatenate([zero, np.cumsum(fires, axis=1)], axis=1)
    hi = np.minimum(steps + n, length)
    covered = (fcum[:, hi] - fcum[:, steps]) > 0
    edges = np.diff(np.pad(covered.astype(np.int8), ((0, 0), (1, 1))),
                    axis=1)
    rows, starts = np.nonzero(edges == 1)
    _, ends = np.nonzero(edges == -1)
    # Trim each run to its first and last flagged step.
    index = np.broadcast_to(steps, flags.shape)
    nxt = np.minimum.accumulate(
        np.where(flags, index, length)[:, ::-1], axis=1)[:, ::-1]
    prv = np.maximum.accumulate(np.where(flags, index, -1), axis=1)
    return rows, nxt[rows, starts], prv[rows, ends - 1]


def run_sums(values, rows, first, last):
    """Sum of ``values`` (series, T) over each run (NaN counts as 0)."""
    values = np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.0,
                           posinf=0.0, neginf=0.0)
    zero = np.zeros(values.shape[:-1] + (1,))
    cum = np.concatenate([zero, np.cumsum(values, axis=-1)], axis=-1)
    return cum[..., rows, last + 1] - cum[..., rows, first]


def severity(excess_sum, flagged_count):
    """Severity from the summed excess and the number of flagged steps.

    ``mean excess * sqrt(count) = excess_sum / sqrt(count)``.
    """
    count = np.maximum(np.asarray(flagged_count, dtype=np.float64), 1.0)
    return np.maximum(np.asarray(excess_sum, dtype=np.float64), 0.0) / \
        np.sqrt(count)


def positive_int(name, value, minimum=1):
    try:
        number = int(value)
        whole = number == value and not isinstance(value, bool)
    except (TypeError, ValueError, OverflowError):
        whole = False
    if not whole or number < minimum:
        raise AnomalyError(reason="%s must be a whole number >= %d, got %r"
                           % (name, minimum, value))
    return number


def positive_float(name, value, minimum=0.0, strict=False):
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float('nan')
    if not np.isfinite(number) or number < minimum or (
            strict and number == minimum):
        raise AnomalyError(reason="%s must be a finite number %s %g, got %r"
                           % (name, '>' if strict else '>=', minimum,
                              value))
    return number


class AnomalyDetector(plugins.Plugin):
    """Base of the anomaly detector plugins.

    :param k: flagged steps needed ...
    :param n: ... among this many consecutive steps for an anomaly
        (``1 <= k <= n``).

    A subclass implements :meth:`detect` and may extend
    :meth:`get_config_opts`; every option is also a constructor argument
    of the same name, so that :func:`from_conf` can build it.
    """

    #: What the detector's anomalies are (``Anomaly.kind``).
    anomaly_kind = None
    #: Defaults of the k-of-n rule.
    DEFAULT_K = 1
    DEFAULT_N = 1

    def __init__(self, k=None, n=None):
        self.k = positive_int('k', self.DEFAULT_K if k is None else k)
        self.n = positive_int('n', self.DEFAULT_N if n is None else n)
        if self.k > self.n:
            raise AnomalyError(reason="k (%d) cannot be more than n (%d)"
                               % (self.k, self.n))

    @classmethod
    def get_config_opts(cls):
        return [
            cfg.IntOpt(
                'k', default=cls.DEFAULT_K, min=1,
                help='Flagged steps needed among n consecutive steps for '
                     'an anomaly (the k-of-n rule). Flagged steps that '
                     'fire together are merged into one anomaly.'),
            cfg.IntOpt(
                'n', default=cls.DEFAULT_N, min=1,
                help='Length, in steps, of the window of the k-of-n rule; '
                     'at least k.'),
        ]

    def __repr__(self):
        return '<%s k=%d n=%d>' % (type(self).__name__, self.k, self.n)

    @abc.abstractmethod
    def detect(self, frame, forecasts=None):
        """Find the anomalies in ``frame``.

        :param frame: a :class:`~irra_openstack.frame.MetricFrame` of
            actual values.
        :param forecasts: ``{metric: Forecast}`` of the same resources,
            for detectors that compare with forecasts.
        :returns: a list of :class:`Anomaly`, most severe first.
        """


def from_conf(conf, name):
    """Build detector ``name`` from its ``[anomaly_detectors.<name>]``.

    Registers the plugin's options on ``conf`` if needed; every option is
    passed to the constructor under its own name.
    """
    cls = plugins.load_class(NAMESPACE, name, base=AnomalyDetector)
    group = plugins.register_plugin_opts(conf, NAMESPACE, name,
                                         base=AnomalyDetector)
    kwargs = {}
    if group is not None:
        kwargs = {opt.dest: getattr(group, opt.dest)
                  for opt in cls.get_config_opts()}
    return plugins.load(NAMESPACE, name, base=AnomalyDetector, **kwargs)
