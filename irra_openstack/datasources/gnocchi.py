"""The ``gnocchi`` datasource: Ceilometer's metrics stored in Gnocchi.

One request per metric per region: ``POST /v1/aggregates`` over the
resources of a resource type, so that Gnocchi answers for every VM of the
region at once. A metric of the VM itself asks for each resource's own
series, without ``groupby``::

    POST /v1/aggregates?start=...&stop=...&granularity=300
    {"resource_type": "instance", "search": ...,
     "operations": "(metric cpu mean)"}

which Gnocchi answers as ``{"measures": {id: {"cpu": {"mean": [...]}}}}``
from one pass over all the series. (With ``groupby=id`` it would run its
whole aggregation once per VM: the same answer, at a higher cost.) A
per-device metric is grouped::

    POST /v1/aggregates?groupby=instance_id&...
    {"resource_type": "instance_disk",
     "operations": "(aggregate sum (metric disk.device.read.bytes mean))"}

A metric's source is ``NAME[@RESOURCE_TYPE[/GROUPBY]]``: the Ceilometer
metric name, the Gnocchi resource type (default ``instance``) and the
attribute that names the VM (default ``id``). Per-device metrics such as
``disk.device.read.bytes`` (resource type ``instance_disk``) and
``network.incoming.bytes`` (``instance_network_interface``) are grouped
by ``instance_id`` and summed over a VM's disks or interfaces.
"""

import datetime
import itertools
import operator
import uuid

import numpy as np
from oslo_config import cfg
from oslo_log import log as logging

from irra_openstack.datasources import base

LOG = logging.getLogger(__name__)

M = base.MetricSpec

#: Ceilometer's metric names, as Ceilometer's Gnocchi publisher stores
#: them (gnocchi_resources.yaml).
DEFAULT_METRICS = (
    M('cpu_util', base.CPU_NS, 'cpu@instance/id', '%'),
    M('mem_used', base.GAUGE, 'memory.usage@instance/id', 'MB'),
    M('disk_read_bps', base.COUNTER,
      'disk.device.read.bytes@instance_disk/instance_id', 'B/s'),
    M('disk_write_bps', base.COUNTER,
      'disk.device.write.bytes@instance_disk/instance_id', 'B/s'),
    M('net_in_bps', base.COUNTER,
      'network.incoming.bytes@instance_network_interface/instance_id',
      'B/s'),
    M('net_out_bps', base.COUNTER,
      'network.outgoing.bytes@instance_network_interface/instance_id',
      'B/s'),
)

#: Host metrics, where Ceilometer's compute-node pollsters or the
#: hardware (SNMP) pollsters publish them.
DEFAULT_HOST_METRICS = (
    M('cpu_util', base.GAUGE, 'compute.node.cpu.percent@nova_compute/id',
      '%'),
    M('mem_used', base.GAUGE, 'hardware.memory.used@host/id', 'MB',
      1.0 / 1024),
)

VCPUS_METRIC = M('vcpus', base.GAUGE, 'vcpus@instance/id', 'vCPU')


def parse_source(source):
    """``(metric, resource_type, groupby)`` of a source string."""
    name, _, rest = source.partition('@')
    rtype, _, group = rest.partition('/')
    return name.strip(), (rtype.strip() or 'instance'), (
        group.strip() or 'id')


def _iso(ts):
    return datetime.datetime.fromtimestamp(
        ts, tz=datetime.timezone.utc).isoformat()


class GnocchiDatasource(base.Datasource):
    """Ceilometer's metrics from Gnocchi, one request per metric per region.

    :param aggregation: the Gnocchi aggregation method read for gauges
        (``mean``).
    :param counter_aggregation: the one read for counters; ``mean`` suits
        Ceilometer's archive policies (``last`` is more exact where the
        archive policy keeps it).
    :param search: an optional Gnocchi search filter (a dict), e.g. to
        skip deleted instances.
    :param chunks: split each metric's request of a region into this many
        requests, by ranges of the resources' UUIDs (of the VM's id, or
        of the ``instance_id`` that groups its devices), asked
        concurrently within ``parallel``. 1: one request per metric.
    """

    name = 'gnocchi'
    description = "Ceilometer's metrics from Gnocchi (aggregates API)"
    default_metrics = DEFAULT_METRICS
    default_host_metrics = DEFAULT_HOST_METRICS

    def __init__(self, regions, metrics=None, host_metrics=None,
                 aggregation='mean', counter_aggregation='mean',
                 search=None, vcpus_metric=VCPUS_METRIC, chunks=1,
                 **kwargs):
        super().__init__(regions, metrics=metrics,
                         host_metrics=host_metrics,
                         vcpus_metric=vcpus_metric, **kwargs)
        self.aggregation = aggregation
        self.counter_aggregation = counter_aggregation
        self.search = search
        self.chunks = max(1, int(chunks))

    def _body_params(self, spec, start, end, step, search, group=True):
        metric, rtype, groupby = parse_source(spec.source)
        agg = (self.counter_aggregation if spec.is_counter
               else self.aggregation)
        op = '(metric %s %s)' % (metric, agg)
        body = {'resource_type': rtype,
                'operations': ('(aggregate sum %s)' % op) if group else op}
        # Gnocchi needs a search with a resource type: the resources alive
        # at some time in the window (so VMs deleted in mid-window count).
        alive = {'or': [{'=': {'ended_at': None}},
                        {'>=': {'ended_at': _iso(start)}}]}
        body['search'] = {'and': [alive, search]} if search else alive
        params = {'start': _iso(start), 'stop': _iso(end),
                  'granularity': int(step), 'needed_overlap': 0,
                  'fill': 'dropna', 'details': 'false',
                  'use_history': 'false'}
        return metric, agg, groupby, body, params

    def query(self, region, spec, start, end, step, kind='vm'):
        return self._query(region, spec, start, end, step, self.search)

    def query_parts(self, region, spec, kind='vm'):
        """``chunks`` ranges of the resource UUIDs, or ``[None]``."""
        if self.chunks <= 1:
            return [None]
        bounds = [str(uuid.UUID(int=(k << 128) // self.chunks))
                  for k in range(1, self.chunks)]
        return list(zip([None] + bounds, bounds + [None]))

    def query_part(self, region, spec, start, end, step, part, kind='vm'):
        """The resources whose UUID (or grouping UUID) is in ``part``."""
        group = parse_source(spec.source)[2]
        lo, hi = part
        cond = ([{'>=': {group: lo}}] if lo else []) + (
            [{'<': {group: hi}}] if hi else [])
        search = {'and': cond + ([self.search] if self.search else [])}
        return self._query(region, spec, start, end, step, search)

    def _query(self, region, spec, start, end, step, search):
        groupby = parse_source(spec.source)[2]
        if groupby == 'id':
            return self._per_resource(region, spec, start, end, step,
                                      search)
        metric, agg, group, body, params = self._body_params(
            spec, start, end, step, search)
        params['groupby'] = group
        answer = self._post(region, metric, body, params)
        if not isinstance(answer, list):
            raise base.MalformedResponse(
                reason="Gnocchi in %s answered a %s, not a list of groups, "
                       "for %s" % (region.name, type(answer).__name__,
                                   metric))
        resources, parts = [], []
        for item in answer:
            try:
                resources.append(str(item['group'][group]))
                parts.append(item['measures']['measures']['aggregated'])
            except (KeyError, TypeError):
                raise base.MalformedResponse(
                    reason="Gnocchi in %s answered a group without "
                           "'group'.%s or aggregated measures for %s"
                    % (region.name, group, metric))
        return _series(resources, parts, region.name, metric)

    def query_one(self, region, spec, start, end, step, resource,
                  kind='vm'):
        group = parse_source(spec.source)[2]
        one = {'=': {group: resource}}
        search = {'and': [one, self.search]} if self.search else one
        if group == 'id':
            return self._per_resource(region, spec, start, end, step,
                                      search)
        metric, agg, group, body, params = self._body_params(
            spec, start, end, step, search)
        answer = self._post(region, metric, body, params)
        try:
            points = answer['measures']['aggregated']
        except (KeyError, TypeError):
            raise base.MalformedResponse(
                reason="Gnocchi in %s answered without aggregated "
                       "measures for %s" % (region.name, metric))
        return _series([resource], [points], region.name, metric)

    def _per_resource(self, region, spec, start, end, step, search):
        """Each resource's own series of a metric, in one request."""
        metric, agg, _group, body, params = self._body_params(
            spec, start, end, step, search, group=False)
        answer = self._post(region, metric, body, params)
        try:
            by_resource = answer['measures']
            resources = [str(r) for r in by_resource]
            parts = [by_resource[r][metric][agg] for r in by_resource]
        except (KeyError, TypeError, AttributeError):
            raise base.MalformedResponse(
                reason="Gnocchi in %s answered without the measures of "
                       "each resource for %s %s"
                % (region.name, metric, agg))
        return _series(resources, parts, region.name, metric)

    def _post(self, region, metric, body, params):
        try:
            return self.client(region).request(
                'POST', '/v1/aggregates', params=params, json_body=body)
        except base.DatasourceError as exc:
            status = exc.kwargs.get('status')
            text = str(exc)
            if status == 404 or (status == 400 and 'resource type' in
                                 text.lower()):
                raise base.UnknownMetric(
                    reason="Gnocchi in %s does not know %s (%s)"
                    % (region.name, metric, text))
            raise

    @classmethod
    def get_config_opts(cls):
        return [
            cfg.StrOpt('aggregation', default='mean',
                       help='Gnocchi aggregation method read for gauges.'),
            cfg.StrOpt('counter_aggregation', default='mean',
                       help='Gnocchi aggregation method read for counters '
                            '(cpu, disk and network bytes). mean suits '
                            "Ceilometer's archive policies; last is more "
                            'exact where the archive policy keeps it.'),
            cfg.IntOpt('chunks', default=1, min=1, max=256,
                       help='Split the request of each metric of a region '
                            "into this many requests, by ranges of the "
                            "resources' UUIDs, asked concurrently (at most "
                            '[datasources] parallel in flight). Gnocchi '
                            'builds each answer in one Python thread of '
                            'its API, so parts let several API processes '
                            'work on one region; 1 asks once per metric.'),
            cfg.MultiStrOpt(
                'metric', default=[],
                help='Override or add a VM metric mapping, as '
                     'NAME|KIND|SCALE|SOURCE where KIND is gauge, counter, '
                     'cpu_ns or cpu_seconds and SOURCE is '
                     'METRIC[@RESOURCE_TYPE[/GROUPBY]], e.g. '
                     "'disk_read_bps|counter|1|disk.read.bytes@instance'. "
                     'The defaults read Ceilometer: %s.'
                     % ', '.join('%s=%s' % (s.name, s.source)
                                 for s in DEFAULT_METRICS)),
            cfg.MultiStrOpt(
                'host_metric', default=[],
                help='Override or add a host metric mapping (same form).'),
            cfg.DictOpt(
                'endpoint_override', default={},
                help='Gnocchi URL per region, region:url, instead of the '
                     "Keystone catalog's 'metric' endpoint."),
        ]


def _series(resources, parts, region, metric):
    """A :class:`base.Series` of Gnocchi's ``[[iso, granularity, value]]``.

    ``parts`` holds each resource's list of points. The values are read
    by one numpy call over all the points. With several resources the
    time stamps repeat from one to the next (every series is on the same
    grid), so each distinct stamp is parsed once, by one numpy call (UTC;
    the zone suffix, always +00:00, is cut off by a fixed-width numpy
    string, since numpy does not parse zones), and the points look theirs
    up; a single series' stamps are parsed directly.
    """
    if not all(isinstance(p, list) for p in parts):
        raise base.MalformedResponse(
            reason="Gnocchi in %s answered measures of %s that are not a "
                   "list" % (region, metric))
    lens = np.fromiter(map(len, parts), np.int64, len(parts))
    n = int(lens.sum())
    if not n:
        return base.Series.from_lists(list(resources),
                                      [([], [])] * len(resources))
    try:
        points = list(itertools.chain.from_iterable(parts))
        widths = np.fromiter(map(len, points), np.int64, n)
        if (widths != 3).any():
            raise ValueError('a point is not [time, granularity, value]')
        if len(parts) > 1:
            values = np.fromiter(map(operator.itemgetter(2), points),
                                 np.float64, n)
            stamps = list(map(operator.itemgetter(0), points))
            seconds = dict.fromkeys(stamps)
            distinct = list(seconds)
            if not all(type(d) is str for d in distinct):
                raise ValueError('a time stamp is not a string')
            seconds.update(zip(distinct, _parse_stamps(distinct).tolist()))
            times = np.fromiter(map(seconds.__getitem__, stamps),
                                np.float64, n)
        else:
            # One series (the per-VM loop): its stamps are all distinct.
            stamps, _gran, values = zip(*points)
            times = _parse_stamps(stamps)
            values = np.array(values, dtype=np.float64)
    except (TypeError, ValueError, IndexError) as exc:
        raise base.MalformedResponse(
            reason="Gnocchi in %s answered malformed measures of %s (%s)"
            % (region, metric, exc))
    return base.Series(list(resources),
                       np.repeat(np.arange(len(resources)), lens),
                       times, values)


def _parse_stamps(stamps):
    """Seconds since the epoch of Gnocchi's ISO 8601 UTC stamps."""
    text = np.array(stamps)
    if text.dtype.kind != 'U':
        raise ValueError('a time stamp is not a string')
    return text.astype('U19').astype('datetime64[s]').astype(
        np.int64).astype(np.float64)
