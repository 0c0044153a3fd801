"""The ``prometheus`` datasource: PromQL ``query_range``, batched.

One request per metric per region: a range query that aggregates the
metric ``by`` the label that names the VM, so that every VM of the region
comes back in one answer::

    sum by (resource) (last_over_time(ceilometer_cpu[300s]))

evaluated at the end of every step of the window. Gauges use
``avg_over_time`` (the mean of the step), counters ``last_over_time`` (the
last value of the step; irra turns it into a rate, handling resets).

A metric's source is ``SELECTOR [by LABEL]`` or a whole PromQL expression
(anything with a parenthesis), read as a gauge, in which ``$step`` is the
step (``300s``) and ``$region`` the region name.

It talks to a plain Prometheus, or, through a keystoneauth session, to a
Keystone-protected Prometheus API such as Aetos: the session adds the
token, the paths are the same.
"""

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
    """

    name = 'prometheus'
    description = 'VM and host metrics from Prometheus or Aetos (PromQL)'
    default_host_metrics = NODE_HOST_METRICS

    def __init__(self, regions, metrics=None, host_metrics=None,
                 preset='sg-core', label=None, region_label=None,
                 vcpus_metric=None, **kwargs):
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

    def query(self, region, spec, start, end, step, kind='vm'):
        q, label = self.build_query(region, spec, step, kind)
        return self._range(region, spec, q, label, start, end, step)

    def query_one(self, region, spec, start, end, step, resource,
                  kind='vm'):
        q, label = self.build_query(region, spec, step, kind,
                                    resource=resource)
        return self._range(region, spec, q, label, start, end, step)

    def _range(self, region, spec, q, label, start, end, step):
        # Evaluated at the end of each step: the value of [t, t + step)
        # is the evaluation at t + step.
        params = {'query': q, 'start': int(start) + int(step),
                  'end': int(end), 'step': int(step)}
        try:
            answer = self.client(region).request(
                'POST', '/api/v1/query_range', params=params)
        except base.DatasourceError as exc:
            if exc.kwargs.get('status') in (400, 422):
                raise base.DatasourceError(
                    reason="Prometheus in %s rejected the query for %s: "
                           "%s" % (region.name, spec.name, exc))
            raise
        try:
            if answer.get('status') != 'success':
                raise base.MalformedResponse(
                    reason="Prometheus in %s answered status %r: %s"
                    % (region.name, answer.get('status'),
                       answer.get('error')))
            data = answer['data']
            if data.get('resultType') != 'matrix':
                raise base.MalformedResponse(
                    reason="Prometheus in %s answered a %r, not a matrix"
                    % (region.name, data.get('resultType')))
            result = data['result']
        except (AttributeError, KeyError, TypeError):
            raise base.MalformedResponse(
                reason="Prometheus in %s answered something that is not a "
                       "query_range result" % region.name)
        if not result:
            raise base.UnknownMetric(
                reason="Prometheus in %s has no series for %s (%s)"
                % (region.name, spec.name, q))
        resources, parts = [], []
        for series in result:
            try:
                rid = series['metric'][label]
                arr = np.array(series['values'], dtype=np.float64)
            except KeyError:
                raise base.MalformedResponse(
                    reason="Prometheus in %s answered a series of %s "
                           "without the label %r" % (region.name,
                                                     spec.name, label))
            except (TypeError, ValueError):
                raise base.MalformedResponse(
                    reason="Prometheus in %s answered malformed values "
                           "for %s" % (region.name, spec.name))
            if arr.ndim != 2 or arr.shape[1] != 2:
                if arr.size == 0:
                    continue
                raise base.MalformedResponse(
                    reason="Prometheus in %s answered values of shape %s "
                           "for %s" % (region.name, arr.shape, spec.name))
            resources.append(str(rid))
            parts.append((arr[:, 0] - step, arr[:, 1]))
        return base.Series.from_lists(resources, parts)

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
