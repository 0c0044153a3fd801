"""Regions, credentials and inventory: what the optimiser plans on.

Credentials come from the keystoneauth options of ``[datasources_auth]``
(one Keystone for every region) and never appear in logs. Each region's
endpoints come from the Keystone catalog, through an openstacksdk
``Connection`` per ``region_name``, unless an ``endpoint_override`` names
them.

The inventory of a region is its servers (flavor vCPUs, RAM and disk,
host and hypervisor hostname, project, server groups and their policies,
availability zone, the application label from the metadata, state) and its
compute nodes with their Placement inventories (capacity, reserved,
allocation ratios) and usages.
"""

import dataclasses

from keystoneauth1 import loading as ks_loading
from oslo_log import log as logging

from irra_openstack.conf import datasources as conf_ds
from irra_openstack.datasources import base
from irra_openstack import exception
from irra_openstack import plugins

LOG = logging.getLogger(__name__)

#: Default service types in the Keystone catalog.
SERVICE_TYPES = {'gnocchi': 'metric', 'prometheus': 'metric-storage'}


def session_from_conf(conf):
    """A keystoneauth session from ``[datasources_auth]``.

    Without an ``auth_type`` the session is unauthenticated (a plain
    Prometheus).
    """
    group = conf_ds.AUTH_GROUP
    auth = None
    if getattr(conf, group).auth_type:
        auth = ks_loading.load_auth_from_conf_options(conf, group)
    return ks_loading.load_session_from_conf_options(conf, group,
                                                     auth=auth)


def region_names(conf):
    names = list(conf.datasources.regions)
    if not names:
        try:
            name = getattr(conf, conf_ds.AUTH_GROUP).region_name
        except Exception:  # noqa: the auth plugin's option may be absent
            name = None
        names = [name] if name else []
    if not names:
        raise exception.ConfigError(
            reason="no region to collect from: set [datasources] regions "
                   "or [datasources_auth] region_name")
    return names


def connection(session, region, interface='internal'):
    """An openstacksdk Connection to one region."""
    import openstack

    return openstack.connection.Connection(
        session=session, region_name=region, interface=interface)


def endpoint_for(session, region, service_type, interface='internal',
                 override=None):
    """A region's endpoint: the override, else the Keystone catalog's."""
    if override:
        return override
    try:
        url = connection(session, region, interface).endpoint_for(
            service_type, interface=interface)
    except Exception as exc:  # noqa: openstacksdk raises many types
        raise exception.ConfigError(
            reason="no %s endpoint for region %s in the Keystone catalog "
                   "(%s: %s); set endpoint_override"
            % (service_type, region, type(exc).__name__, exc))
    if not url:
        raise exception.ConfigError(
            reason="no %s endpoint (%s) for region %s in the Keystone "
                   "catalog; set endpoint_override"
            % (service_type, interface, region))
    return url


def build_datasource(conf, name=None, session=None):
    """The configured datasource plugin, with its regions and options."""
    name = name or conf.datasources.datasource
    group = plugins.register_plugin_opts(conf, base.NAMESPACE, name)
    ds = conf.datasources
    regions = region_names(conf)
    kwargs = dict(timeout=ds.timeout, retries=ds.retries,
                  backoff=ds.backoff, breaker_threshold=ds.breaker_threshold,
                  breaker_reset=ds.breaker_reset, parallel=ds.parallel,
                  compress=ds.compress)
    if name == 'replay':
        traces = dict(group.traces)
        missing = [r for r in regions if r not in traces]
        if missing:
            raise exception.ConfigError(
                reason="[datasources.replay] traces has no file for "
                       "regions %s" % ', '.join(missing))
        objs = [base.Region(r, traces[r]) for r in regions]
        return plugins.load(base.NAMESPACE, name, objs,
                            time_shift=group.time_shift, **kwargs)
    overrides = dict(group.endpoint_override)
    use_auth = name != 'prometheus' or group.keystone_auth
    if session is None:
        session = session_from_conf(conf)
    plain = None
    if not use_auth:
        from keystoneauth1 import session as ks_session
        plain = ks_session.Session(verify=session.verify)
    service = getattr(group, 'service_type', None) or SERVICE_TYPES[name]
    objs = []
    for r in regions:
        url = endpoint_for(session, r, service, ds.interface,
                           overrides.get(r))
        objs.append(base.Region(
            r, url, session=session if use_auth else plain,
            clock_offset=float(ds.clock_offset.get(r, 0) or 0)))
    specs = [base.MetricSpec.parse(t) for t in group.metric]
    host_specs = [base.MetricSpec.parse(t) for t in group.host_metric]
    if name == 'gnocchi':
        from irra_openstack.datasources import gnocchi as mod
        kwargs.update(aggregation=group.aggregation,
                      counter_aggregation=group.counter_aggregation,
                      chunks=group.chunks)
        vm_defaults = mod.DEFAULT_METRICS
    else:
        from irra_openstack.datasources import prometheus as mod
        kwargs.update(preset=group.preset, label=group.label,
                      region_label=group.region_label)
        vm_defaults = mod.PRESETS[group.preset]['vm']
    kwargs['metrics'] = base.merge_specs(vm_defaults, specs)
    kwargs['host_metrics'] = base.merge_specs(
        mod.PrometheusDatasource.default_host_metrics
        if name == 'prometheus' else mod.DEFAULT_HOST_METRICS, host_specs)
    return plugins.load(base.NAMESPACE, name, objs, **kwargs)


# -- inventory -----------------------------------------------------------

@dataclasses.dataclass
class Server:
    id: str
    name: str
    project_id: str
    status: str
    host: str
    hypervisor_hostname: str
    availability_zone: str
    vcpus: int
    ram_mb: int
    disk_gb: int
    flavor: str
    app: str = None
    server_groups: tuple = ()
    policies: tuple = ()
    metadata: dict = dataclasses.field(default_factory=dict)

    def attributes(self):
        """The MetricFrame attributes of this VM."""
        return {k: v for k, v in dataclasses.asdict(self).items()
                if v not in (None, (), {}) and k != 'metadata'}


@dataclasses.dataclass
class ComputeNode:
    """A compute node's resource provider and its Placement inventory.

    ``capacity`` is per resource class ``{total, reserved,
    allocation_ratio, min_unit, max_unit, step_size, usable}`` where
    ``usable = (total - reserved) * allocation_ratio``; ``used`` is
    Placement's usage per resource class.
    """

    uuid: str
    name: str
    generation: int
    capacity: dict
    used: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Inventory:
    region: str
    servers: list
    compute_nodes: list

    def server_attributes(self):
        return {s.id: s.attributes() for s in self.servers}


def _get(obj, key, default=None):
    if isinstance(obj, dict):
        return obj.get(key, default)
    return getattr(obj, key, default)


def parse_server(raw, groups=None, app_label_key='app'):
    """A :class:`Server` from Nova's server body (microversion >= 2.47).

    :param raw: a dict (Nova's JSON) or an openstacksdk Server.
    :param groups: ``{server id: [(group id, policy)]}``.
    """
    if not isinstance(raw, dict):
        raw = raw.to_dict() if hasattr(raw, 'to_dict') else dict(raw)
    flavor = raw.get('flavor') or {}

    def first(*keys):
        for k in keys:
            if raw.get(k) not in (None, ''):
                return raw[k]
        return None

    meta = dict(raw.get('metadata') or {})
    sid = raw['id']
    member = (groups or {}).get(sid, [])
    return Server(
        id=sid, name=raw.get('name'),
        project_id=first('project_id', 'tenant_id'),
        status=first('status', 'vm_state'),
        host=first('compute_host', 'OS-EXT-SRV-ATTR:host'),
        hypervisor_hostname=first(
            'hypervisor_hostname', 'OS-EXT-SRV-ATTR:hypervisor_hostname'),
        availability_zone=first('availability_zone',
                                'OS-EXT-AZ:availability_zone'),
        vcpus=int(_get(flavor, 'vcpus') or 0),
        ram_mb=int(_get(flavor, 'ram') or 0),
        disk_gb=int(_get(flavor, 'disk') or 0),
        flavor=_get(flavor, 'original_name') or _get(flavor, 'name')
        or _get(flavor, 'id'),
        app=meta.get(app_label_key),
        server_groups=tuple(g for g, p in member),
        policies=tuple(p for g, p in member),
        metadata=meta)


def group_membership(server_groups):
    """``{server id: [(group id, policy)]}`` from Nova's server groups."""
    out = {}
    for g in server_groups:
        if not isinstance(g, dict):
            g = g.to_dict() if hasattr(g, 'to_dict') else dict(g)
        policy = g.get('policy') or (g.get('policies') or [None])[0]
        for m in g.get('members') or g.get('member_ids') or ():
            out.setdefault(m, []).append((g['id'], policy))
    return out


def placement_nodes(adapter):
    """Compute nodes from Placement, through a keystoneauth adapter.

    ``adapter`` is ``conn.placement`` or any keystoneauth Adapter whose
    endpoint is Placement's. Three requests per provider at most: the
    list, inventories and usages (Placement has no bulk call for them).
    """
    hdr = {'OpenStack-API-Version': 'placement 1.14'}

    def get(path):
        r = adapter.get(path, headers=hdr, raise_exc=False)
        if r.status_code != 200:
            raise base.DatasourceError(
                reason="Placement GET %s: HTTP %d" % (path, r.status_code))
        return r.json()

    nodes = []
    for rp in get('/resource_providers')['resource_providers']:
        inv = get('/resource_providers/%s/inventories' % rp['uuid'])
        cap = {}
        for rc, i in inv['inventories'].items():
            cap[rc] = dict(i, usable=(i['total'] - i.get('reserved', 0))
                           * i.get('allocation_ratio', 1.0))
        used = get('/resource_providers/%s/usages' % rp['uuid'])['usages']
        nodes.append(ComputeNode(uuid=rp['uuid'], name=rp['name'],
                                 generation=rp['generation'],
                                 capacity=cap, used=used))
    return nodes


def collect(conn, region, app_label_key='app'):
    """The :class:`Inventory` of one region through openstacksdk."""
    groups = group_membership(conn.compute.server_groups(all_projects=True))
    servers = [parse_server(s, groups, app_label_key)
               for s in conn.compute.servers(details=True,
                                             all_projects=True)]
    nodes = placement_nodes(conn.placement)
    LOG.debug('Inventory of %s: %d servers, %d compute nodes', region,
              len(servers), len(nodes))
    return Inventory(region=region, servers=servers, compute_nodes=nodes)
