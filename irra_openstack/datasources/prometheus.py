"""The ``prometheus`` datasource: PromQL ``query_range``, batched.

One request per metric per region. By default (``raw_samples``) it is an
instant query of a range selector over the whole window, which returns
the raw samples of every series of the region at once::

    ceilometer_cpu[86700s]       (at time = the end of the window)

and irra puts them on its grid (:func:`base.samples_to_grid`: the mean of
a gauge's samples in a step, the last value of a counter's), then sums (a
counter) or averages (a gauge) the series that share the label that names
the VM, such as a VM's disks or interfaces. Prometheus only reads and
encodes the samples; it evaluates nothing at every step. Without
``raw_samples``, or for a PromQL expression, it is a range query that
aggregates the metric ``by`` that label::

    sum by (resource) (last_over_time(ceilometer_cpu[300s]))

evaluated at the end of every step of the window. Gauges use
``avg_over_time`` (the mean of the step), counters ``last_over_time`` (the
last value of the step; irra turns it into a rate, handling resets).

Answers are decoded with one flat numpy conversion of all the samples,
not one array per series. A matrix answer laid out as Prometheus writes
it (compact JSON, ``metric`` then ``values`` in each series) is read
without building a Python object per sample (:func:`_fast_matrix`): the
labels of each series are decoded as JSON, and all the samples' numbers
by one numpy call over the text. Any other layout, and anything
malformed, is decoded as ordinary JSON, with the same result or the same
errors.

A metric's source is ``SELECTOR [by LABEL]`` or a whole PromQL expression
(anything with a parenthesis), read as a gauge, in which ``$step`` is the
step (``300s``) and ``$region`` the region name.

It talks to a plain Prometheus, or, through a keystoneauth session, to a
Keystone-protected Prometheus API such as Aetos: the session adds the
token, the paths are the same.
"""

import itertools
import json
import math
import re

import numpy as np
from oslo_config import cfg
from oslo_log import log as logging

from irra_openstack.datasources import base

LOG = logging.getLogger(__name__)

M = base.MetricSpec
_MB = 1.0 / (1024 * 1024)

#: Metric mappings that suit the exporters OpenStack deployments use.
PRESETS = {
    # Ceilometer's samples exposed by sg-core (what Watcher reads).
    'sg-core': {
        'label': 'resource',
        'vm': (
            M('cpu_util', base.CPU_NS, 'ceilometer_cpu', '%'),
            M('mem_used', base.GAUGE, 'ceilometer_memory_usage', 'MB'),
            M('disk_read_bps', base.COUNTER,
              'ceilometer_disk_device_read_bytes by vm_instance', 'B/s'),
            M('disk_write_bps', base.COUNTER,
              'ceilometer_disk_device_write_bytes by vm_instance', 'B/s'),
            M('net_in_bps', base.COUNTER,
              'ceilometer_network_incoming_bytes by vm_instance', 'B/s'),
            M('net_out_bps', base.COUNTER,
              'ceilometer_network_outgoing_bytes by vm_instance', 'B/s'),
        ),
        'vcpus': M('vcpus', base.GAUGE, 'ceilometer_vcpus', 'vCPU'),
    },
    # The libvirt exporter on each compute node.
    'libvirt': {
        'label': 'uuid',
        'vm': (
            M('cpu_util', base.CPU_SECONDS,
              'libvirt_domain_info_cpu_time_seconds_total', '%'),
            M('mem_used', base.GAUGE,
              'libvirt_domain_info_memory_usage_bytes', 'MB', _MB),
            M('disk_read_bps', base.COUNTER,
              'libvirt_domain_block_stats_read_bytes_total', 'B/s'),
            M('disk_write_bps', base.COUNTER,
              'libvirt_domain_block_stats_write_bytes_total', 'B/s'),
            M('net_in_bps', base.COUNTER,
              'libvirt_domain_interface_stats_receive_bytes_total', 'B/s'),
            M('net_out_bps', base.COUNTER,
              'libvirt_domain_interface_stats_transmit_bytes_total',
              'B/s'),
        ),
        'vcpus': M('vcpus', base.GAUGE, 'libvirt_domain_info_virtual_cpus',
                   'vCPU'),
    },
}

#: Host metrics from the node exporter, by its ``instance`` label.
NODE_HOST_METRICS = (
    M('cpu_util', base.GAUGE,
      '100 * (1 - avg by (instance) '
      '(rate(node_cpu_seconds_total{mode="idle"}[$step]))) by instance',
      '%'),
    M('mem_used', base.GAUGE,
      '(node_memory_MemTotal_bytes - node_memory_MemAvailable_bytes) '
      'by instance', 'MB', _MB),
    M('net_in_bps', base.COUNTER,
      'node_network_receive_bytes_total{device!~"lo|tap.*"} by instance',
      'B/s'),
    M('net_out_bps', base.COUNTER,
      'node_network_transmit_bytes_total{device!~"lo|tap.*"} by instance',
      'B/s'),
)

_BY = re.compile(r'^(?P<expr>.*?)\s+by\s+(?P<label>[A-Za-z_][A-Za-z0-9_]*)'
                 r'\s*$', re.S)
_LABEL_VALUE = re.compile(r'["\\\n]')


def parse_source(source, default_label):
    """``(selector_or_expr, label, is_expression)`` of a source string."""
    m = _BY.match(source)
    expr, label = (m.group('expr'), m.group('label')) if m else (
        source, default_label)
    return expr.strip(), label, '(' in expr


def quote(value):
    """A PromQL string literal."""
    return '"%s"' % _LABEL_VALUE.sub(
        lambda c: {'"': '\\"', '\\': '\\\\', '\n': '\\n'}[c.group()],
        str(value))


def add_matchers(selector, matchers):
    """Add ``label="value"`` matchers to a plain series selector."""
    if not matchers:
        return selector
    extra = ','.join('%s=%s' % (k, quote(v)) for k, v in matchers.items())
    if selector.endswith('}'):
        inner = selector[selector.index('{') + 1:-1].strip()
        return '%s{%s%s}' % (selector[:selector.index('{')],
                             inner + ',' if inner else '', extra)
    return '%s{%s}' % (selector, extra)


class PrometheusDatasource(base.Datasource):
    """Metrics from Prometheus or Aetos, one range query per metric per region.

    :param preset: ``sg-core`` or ``libvirt``: the default VM metric
        mapping and resource label.
    :param label: the label that names a VM (default: the preset's).
    :param region_label: if set, every selector gets
        ``region_label="<region>"``, for a Prometheus shared by regions.
    :param raw_samples: read a plain selector's raw samples with one
        instant query of a range selector and put them on the grid in
        irra (default); False evaluates a range query at every step.
    """

    name = 'prometheus'
    description = 'VM and host metrics from Prometheus or Aetos (PromQL)'
    default_host_metrics = NODE_HOST_METRICS

    def __init__(self, regions, metrics=None, host_metrics=None,
                 preset='sg-core', label=None, region_label=None,
                 vcpus_metric=None, raw_samples=True, **kwargs):
        if preset not in PRESETS:
            raise base.DatasourceError(
                reason="unknown Prometheus preset %r; presets: %s"
                % (preset, ', '.join(sorted(PRESETS))))
        self.preset = PRESETS[preset]
        self.default_metrics = self.preset['vm']
        super().__init__(regions, metrics=metrics,
                         host_metrics=host_metrics,
                         vcpus_metric=(vcpus_metric
                                       or self.preset['vcpus']),
                         **kwargs)
        self.label = label or self.preset['label']
        self.region_label = region_label
        self.raw_samples = bool(raw_samples)

    def build_query(self, region, spec, step, kind='vm', resource=None):
        """The PromQL of ``spec`` for ``region`` (and one resource)."""
        default_label = self.label if kind == 'vm' else 'instance'
        expr, label, is_expr = parse_source(spec.source, default_label)
        win = '%ds' % int(step)
        if is_expr:
            q = expr.replace('$step', win).replace('$region', region.name)
            if resource is not None:
                q = ('(%s) and on (%s) label_replace(vector(1), %s, %s, '
                     '"", "")' % (q, label, quote(label), quote(resource)))
            return q, label
        matchers = {}
        if self.region_label:
            matchers[self.region_label] = region.name
        if resource is not None:
            matchers[label] = resource
        selector = add_matchers(expr, matchers)
        if spec.is_counter:
            return 'sum by (%s) (last_over_time(%s[%s]))' % (
                label, selector, win), label
        return 'avg by (%s) (avg_over_time(%s[%s]))' % (
            label, selector, win), label

    def raw_selector(self, region, spec, kind='vm', resource=None):
        """``(selector, label)`` of a plain selector, or None.

        None for a PromQL expression, which only a range query can
        evaluate.
        """
        default_label = self.label if kind == 'vm' else 'instance'
        expr, label, is_expr = parse_source(spec.source, default_label)
        if is_expr:
            return None
        matchers = {}
        if self.region_label:
            matchers[self.region_label] = region.name
        if resource is not None:
            matchers[label] = resource
        return add_matchers(expr, matchers), label

    def query(self, region, spec, start, end, step, kind='vm'):
        return self._query(region, spec, start, end, step, kind, None)

    def query_one(self, region, spec, start, end, step, resource,
                  kind='vm'):
        return self._query(region, spec, start, end, step, kind, resource)

    def _query(self, region, spec, start, end, step, kind, resource):
        raw = (self.raw_selector(region, spec, kind, resource)
               if self.raw_samples else None)
        if raw is not None:
            return self._raw(region, spec, raw[0], raw[1], start, end,
                             step)
        q, label = self.build_query(region, spec, step, kind,
                                    resource=resource)
        return self._range(region, spec, q, label, start, end, step)

    def _request(self, region, spec, path, params):
        """The answer's bytes, undecoded (see :func:`decode_matrix`)."""
        try:
            return self.client(region).request('POST', path, params=params,
                                               raw=True)
        except base.DatasourceError as exc:
            if exc.kwargs.get('status') in (400, 422):
                raise base.DatasourceError(
                    reason="Prometheus in %s rejected the query for %s: "
                           "%s" % (region.name, spec.name, exc))
            raise

    def _raw(self, region, spec, selector, label, start, end, step):
        """Every raw sample in ``[start, end]``, one request, on the grid.

        Series that share ``label`` (a VM's disks or interfaces) are
        combined step by step: counters summed, gauges averaged, as
        ``sum by`` / ``avg by`` would.
        """
        window = max(1, int(math.ceil(end - start)))
        q = '%s[%ds]' % (selector, window)
        body = self._request(region, spec, '/api/v1/query',
                             {'query': q, 'time': '%.3f' % end})
        names, lens, times, values = decode_matrix(body, region.name,
                                                   spec.name, label, q)
        sidx = np.repeat(np.arange(len(names)), lens)
        if len(set(names)) == len(names):
            # One series per resource: the base puts them on the grid.
            return base.Series(names, sidx, times, values)
        n_steps = max(1, int(math.ceil((end - start) / step)))
        grid, _stats = base.samples_to_grid(
            sidx, times, values, len(names), start, n_steps, step,
            how='last' if spec.is_counter else 'mean')
        uniq, group = np.unique(np.asarray(names, dtype=object),
                                return_inverse=True)
        grid = _combine(grid, group.reshape(-1), len(uniq),
                        'sum' if spec.is_counter else 'mean')
        # One value per step, at the middle of the step (so that a clock
        # offset in float seconds cannot move it to the next one).
        r, k = np.nonzero(~np.isnan(grid))
        return base.Series([str(x) for x in uniq], r,
                           start + (k + 0.5) * step, grid[r, k])

    def _range(self, region, spec, q, label, start, end, step):
        # Evaluated at the end of each step: the value of [t, t + step)
        # is the evaluation at t + step.
        params = {'query': q, 'start': int(start) + int(step),
                  'end': int(end), 'step': int(step)}
        body = self._request(region, spec, '/api/v1/query_range', params)
        names, lens, times, values = decode_matrix(body, region.name,
                                                   spec.name, label, q)
        ridx = np.repeat(np.arange(len(names)), lens)
        return base.Series(names, ridx, times - step, values)

    @classmethod
    def get_config_opts(cls):
        return [
            cfg.StrOpt('preset', default='sg-core',
                       choices=sorted(PRESETS),
                       help='Default VM metric mapping: sg-core '
                            "(Ceilometer's samples, label 'resource') or "
                            "libvirt (the libvirt exporter, label "
                            "'uuid'). Host metrics default to the node "
                            'exporter.'),
            cfg.StrOpt('label', default=None,
                       help="The label that names a VM (default: the "
                            "preset's)."),
            cfg.StrOpt('region_label', default=None,
                       help='For a Prometheus shared by regions: the label '
                            'that holds the region name.'),
            cfg.BoolOpt('raw_samples', default=True,
                        help='Read a metric given as a plain selector as '
                             'its raw samples, with one instant query of a '
                             'range selector over the window, and put them '
                             'on the grid in irra. This spares Prometheus '
                             'the evaluation at every step of a range '
                             'query. False: a query_range of '
                             'avg_over_time (gauges) or last_over_time '
                             '(counters). PromQL expressions always use '
                             'query_range.'),
            cfg.BoolOpt('keystone_auth', default=False,
                        help='Send a Keystone token (from the '
                             '[datasources_auth] credentials), as a '
                             'Keystone-protected Prometheus API such as '
                             'Aetos needs.'),
            cfg.StrOpt('service_type', default='metric-storage',
                       help='Service type of the Prometheus API (Aetos) '
                            'in the Keystone catalog.'),
            cfg.MultiStrOpt(
                'metric', default=[],
                help='Override or add a VM metric mapping, as '
                     'NAME|KIND|SCALE|SOURCE where KIND is gauge, counter, '
                     'cpu_ns or cpu_seconds and SOURCE is a selector '
                     "with an optional 'by LABEL', or a PromQL "
                     'expression ($step and $region are replaced).'),
            cfg.MultiStrOpt(
                'host_metric', default=[],
                help='Override or add a host metric mapping (same form).'),
            cfg.DictOpt(
                'endpoint_override', default={},
                help='Prometheus (or Aetos) URL per region, region:url. '
                     'Required for a plain Prometheus, which is not in '
                     'the Keystone catalog.'),
        ]


def decode_matrix(body, region, metric, label, query):
    """``(names, lens, times, values)`` of a matrix answer's bytes.

    :func:`_fast_matrix` for a large answer laid out as Prometheus writes
    it, else the JSON document by :func:`_decode_matrix` (on a small
    answer, such as one series, the two cost about the same).
    """
    if len(body) >= FAST_MATRIX_BYTES:
        fast = _fast_matrix(body, label)
        if fast is not None:
            return fast
    return _decode_matrix(base.loads(body, 'Prometheus in %s' % region),
                          region, metric, label, query)


#: Answers from this size on are read by :func:`_fast_matrix`.
FAST_MATRIX_BYTES = 256 * 1024
_MATRIX_HEAD = b'{"status":"success","data":{"resultType":"matrix","result":['
_SERIES = b'{"metric":'
_VALUES = b',"values":['
#: What may be left of the samples' text once brackets and quotes are
#: gone: numbers (Go writes NaN, +Inf and -Inf as such) and commas.
_NUMBER_BYTES = b'0123456789.,eE+-NaInf'


def _fast_matrix(body, label):
    """A matrix answer decoded without a Python object per sample, or None.

    None when ``body`` is not laid out as Prometheus writes it. In JSON
    a quote inside a string is always escaped, so ``{"metric":`` and
    ``,"values":[`` can only be the structure of the answer, never
    part of a label value; and ``]]}`` closes a series' samples. Each
    series' labels are decoded as JSON; the samples of all the series,
    once their brackets and quotes are dropped, are one text of
    comma-separated numbers, which numpy reads in one call (correctly
    rounded, as ``float()``). Anything unexpected (another layout, a
    missing label, an empty or non-numeric sample) gives None, and the
    caller decodes the answer as ordinary JSON.
    """
    if not body.startswith(_MATRIX_HEAD):
        return None
    pieces = body[len(_MATRIX_HEAD):].split(_SERIES)
    if pieces[0] or len(pieces) < 2:
        return None
    names, texts, lens = [], [], []
    try:
        for piece in pieces[1:]:
            cut = piece.find(_VALUES)
            if cut < 0 or piece[cut + len(_VALUES):][:1] != b'[':
                return None
            end = piece.find(b']]}', cut)
            if end < 0:
                return None
            labels = json.loads(piece[:cut])
            names.append(str(labels[label]))
            text = piece[cut + len(_VALUES):end + 1]
            texts.append(text)
            lens.append(text.count(b'['))
        flat = b','.join(texts).translate(None, b'[]"')
        if flat.translate(None, _NUMBER_BYTES):
            return None
        n = sum(lens)
        numbers = np.fromstring(flat, dtype=np.float64, sep=',')
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    if numbers.size != 2 * n:
        return None
    numbers = numbers.reshape(-1, 2)
    return names, np.array(lens, dtype=np.int64), numbers[:, 0], numbers[
        :, 1]


def _decode_matrix(answer, region, metric, label, query):
    """``(names, lens, times, values)`` of a Prometheus matrix answer.

    ``names`` is the ``label`` of each series, ``lens`` its number of
    samples; ``times`` and ``values`` are all the samples, series after
    series, converted by one numpy call.
    """
    try:
        if answer.get('status') != 'success':
            raise base.MalformedResponse(
                reason="Prometheus in %s answered status %r: %s"
                % (region, answer.get('status'), answer.get('error')))
        data = answer['data']
        if data.get('resultType') != 'matrix':
            raise base.MalformedResponse(
                reason="Prometheus in %s answered a %r, not a matrix"
                % (region, data.get('resultType')))
        result = data['result']
        names = [str(series['metric'][label]) for series in result]
        samples = [series['values'] for series in result]
    except KeyError:
        raise base.MalformedResponse(
            reason="Prometheus in %s answered a series of %s without the "
                   "label %r" % (region, metric, label))
    except (AttributeError, TypeError):
        raise base.MalformedResponse(
            reason="Prometheus in %s answered something that is not a "
                   "query result" % region)
    if not result:
        raise base.UnknownMetric(
            reason="Prometheus in %s has no series for %s (%s)"
            % (region, metric, query))
    try:
        lens = np.fromiter(map(len, samples), np.int64, len(samples))
        pairs = itertools.chain.from_iterable(samples)
        widths = np.fromiter(map(len, pairs), np.int64, int(lens.sum()))
        if widths.size and (widths != 2).any():
            raise ValueError('a sample is not [time, value]')
        flat = np.array(list(itertools.chain.from_iterable(
            itertools.chain.from_iterable(samples))), dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise base.MalformedResponse(
            reason="Prometheus in %s answered malformed values for %s (%s)"
            % (region, metric, exc))
    flat = flat.reshape(-1, 2)
    keep = lens > 0
    if not keep.all():
        names = [n for n, k in zip(names, keep) if k]
        lens = lens[keep]
    return names, lens, flat[:, 0], flat[:, 1]


def _combine(grid, group, n_groups, how):
    """Rows of ``grid`` that share a ``group`` summed or averaged.

    NaN is left out; a step where every row of a group is NaN stays NaN.
    """
    ok = ~np.isnan(grid)
    tot = np.zeros((n_groups, grid.shape[1]))
    cnt = np.zeros((n_groups, grid.shape[1]))
    np.add.at(tot, group, np.where(ok, grid, 0.0))
    np.add.at(cnt, group, ok)
    with np.errstate(invalid='ignore', divide='ignore'):
        if how == 'sum':
            return np.where(cnt > 0, tot, np.nan)
        return np.where(cnt > 0, tot / np.maximum(cnt, 1), np.nan)
