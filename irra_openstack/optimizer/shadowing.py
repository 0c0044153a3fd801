"""Surge shadowing: reserve capacity ahead of a predicted surge.

A host (or a region) *surges* when the upper bound of its predicted usage
rises above its current usage plus a margin at some step of the horizon.
:class:`SurgeShadowing` answers each surge with a ``reserve`` action that
holds the extra capacity in Placement before the demand arrives, so the
scheduler does not hand that room to new VMs. Each reservation expires at
the predicted end of its surge plus ``expiry_margin``.

When a later forecast is revised down, the active reservations that are
no longer needed (or are much larger than needed) get ``release``
actions, so the capacity goes back to the pool before their expiry.

Everything is computed on (N, T, R) arrays for all hosts or regions at
once; only the actions themselves are built one by one.
"""

import dataclasses
import datetime

import numpy as np
from oslo_config import cfg
from oslo_log import log as logging

from irra_openstack.db import constants
from irra_openstack import exception
from irra_openstack.optimizer import actions
from irra_openstack.optimizer import model as cluster
from irra_openstack import plugins

LOG = logging.getLogger(__name__)

KINDS = (constants.ResourceKind.HOST, constants.ResourceKind.REGION)


class ShadowingError(exception.IrraError):
    msg_fmt = "Cannot plan surge reservations: %(reason)s"


@dataclasses.dataclass
class ActiveReservation:
    """A reservation that holds capacity now, as the planner sees it.

    ``resource_id`` is the host name or region name it was made for.
    :func:`as_reservation` also accepts dicts and database rows.
    """

    id: str
    resource_id: str
    resources: dict
    expires_at: datetime.datetime | None = None


def as_reservation(obj, kind):
    """An :class:`ActiveReservation` from a dict, a row or itself."""
    if isinstance(obj, ActiveReservation):
        return obj

    def get(*names):
        for name in names:
            if isinstance(obj, dict):
                if obj.get(name) is not None:
                    return obj[name]
            elif getattr(obj, name, None) is not None:
                return getattr(obj, name)
        return None

    rid = get('id', 'uuid', 'consumer_uuid')
    target = get('resource_id', 'host') if kind == \
        constants.ResourceKind.HOST else get('resource_id', 'region')
    resources = get('resources')
    if rid is None or target is None or not isinstance(resources, dict):
        raise ShadowingError(
            reason='a reservation needs an id, the %s it holds capacity on '
                   '(resource_id) and its resources as a dict; got %r'
                   % (kind, obj))
    return ActiveReservation(str(rid), str(target), dict(resources),
                             get('expires_at'))


class SurgeShadowing(plugins.Plugin):
    """Reserve capacity ahead of predicted surges; release it when not.

    RESERVE actions carry ``parameters`` ``{"resources": {"VCPU": 4,
    ...}, "host": name (or "region": name), "starts_at": ISO 8601,
    "expires_at": ISO 8601}``, the form the ``placement_reservation``
    executor takes; RELEASE actions carry ``{"reservation": id,
    "resources": ...}``.

    :param margin: a surge is predicted usage above current usage × (1 +
        margin) ...
    :param min_amount: ... and above it by at least this much, per
        resource class (``{"VCPU": 1, "MEMORY_MB": 1024}``; classes left
        out count as 0).
    :param resource_classes: the classes to reserve.
    :param expiry_margin: seconds added to the predicted end of a surge.
    :param lead: only surges starting within this many seconds are
        reserved (None: the whole horizon).
    :param release_ratio: an active reservation is released when the new
        forecast needs less than this share of it (0 < ratio <= 1); a
        smaller one is reserved in its place if a surge remains.
    """

    name = 'shadowing'
    description = ('Reserve capacity in Placement ahead of predicted host '
                   'or region surges; release it when the forecast drops.')

    def __init__(self, margin=0.1, min_amount=None,
                 resource_classes=('VCPU', 'MEMORY_MB'), expiry_margin=900,
                 lead=None, release_ratio=0.5):
        for name, value in (('margin', margin),
                            ('expiry_margin', expiry_margin)):
            if not np.isfinite(float(value)) or float(value) < 0:
                raise ShadowingError(reason='%s must be a finite number '
                                            '>= 0, got %r' % (name, value))
        if not 0 < float(release_ratio) <= 1:
            raise ShadowingError(reason='release_ratio must be in (0, 1], '
                                        'got %r' % (release_ratio,))
        if lead is not None and float(lead) <= 0:
            raise ShadowingError(reason='lead must be positive seconds, '
                                        'got %r' % (lead,))
        unknown = set(resource_classes) - set(cluster.RESOURCE_CLASSES)
        if unknown or not resource_classes:
            raise ShadowingError(
                reason='resource_classes must be a non-empty subset of %s, '
                       'got %s' % (', '.join(cluster.RESOURCE_CLASSES),
                                   ', '.join(resource_classes)))
        min_amount = dict(min_amount or {})
        bad = set(min_amount) - set(cluster.RESOURCE_CLASSES)
        if bad:
            raise ShadowingError(reason='min_amount names unknown resource '
                                        'classes: %s' % ', '.join(sorted(bad)))
        self.margin = float(margin)
        self.classes = tuple(resource_classes)
        self.class_idx = np.array([cluster.RESOURCE_CLASSES.index(c)
                                   for c in self.classes])
        self.min_amount = np.array([float(min_amount.get(c, 0.0))
                                    for c in self.classes])
        self.expiry_margin = float(expiry_margin)
        self.lead = None if lead is None else float(lead)
        self.release_ratio = float(release_ratio)

    @classmethod
    def get_config_opts(cls):
        return [
            cfg.FloatOpt(
                'margin', default=0.1, min=0.0,
                help='A host or region surges when the upper bound of its '
                     'predicted usage passes its current usage times (1 + '
                     'margin) at some step of the horizon.'),
            cfg.DictOpt(
                'min_amount', default={'VCPU': '1', 'MEMORY_MB': '1024'},
                help='Smallest surge worth a reservation, per resource '
                     'class (VCPU in vCPUs, MEMORY_MB in MiB, DISK_GB in '
                     'GiB); smaller rises are ignored.'),
            cfg.ListOpt(
                'resource_classes', default=['VCPU', 'MEMORY_MB'],
                help='Resource classes that surges are reserved for.'),
            cfg.IntOpt(
                'expiry_margin', default=900, min=0,
                help='Seconds a reservation outlives the predicted end of '
                     'its surge.'),
            cfg.IntOpt(
                'lead', default=None, min=1,
                help='Reserve only surges predicted to start within this '
                     'many seconds; unset: anywhere in the horizon.'),
            cfg.FloatOpt(
                'release_ratio', default=0.5, min=0.01, max=1.0,
                help='Release an active reservation early when the latest '
                     'forecast needs less than this share of it (a '
                     'smaller reservation replaces it if a surge '
                     'remains).'),
        ]

    def __repr__(self):
        return '<SurgeShadowing margin=%g classes=%s>' % (
            self.margin, ','.join(self.classes))

    # -- entry points --------------------------------------------------

    def plan(self, model, reservations=(), now=None, current=None):
        """Surge reservations for the hosts of a cluster model.

        :param model: a :class:`~.model.ClusterModel`; its hosts' upper
            bound is the sum of their VMs'. Disabled hosts are skipped
            (nothing is scheduled there anyway).
        :param reservations: the active host reservations (see
            :func:`as_reservation`).
        :param now: the time of the forecast's first step (aware UTC
            datetime; default: now).
        :param current: (H, R) current usage per host; default: the sum
            of the VMs' point forecasts at the first step.
        """
        if not isinstance(model, cluster.ClusterModel):
            raise ShadowingError(reason='expected a ClusterModel, got %s'
                                 % type(model).__name__)
        if current is None:
            current = np.zeros((model.n_hosts, len(cluster.RESOURCE_CLASSES)))
            placed = model.vm_host >= 0
            np.add.at(current, model.vm_host[placed],
                      np.asarray(model.usage_point)[placed, 0])
        free = model.placement_capacity() - model.host_allocated()
        return self.plan_series(
            model.host_names, current, model.host_usage_upper(),
            kind=constants.ResourceKind.HOST, step=model.step, now=now,
            free=free, reservations=reservations, skip=~model.enabled)

    def plan_series(self, names, current, upper, kind='region', step=300,
                    now=None, free=None, reservations=(), skip=None):
        """Surge reservations for N hosts or regions.

        :param names: N names (host or region names).
        :param current: (N, R) current usage, R = len(RESOURCE_CLASSES).
        :param upper: (N, T, R) upper bound of predicted usage.
        :param kind: ``host`` or ``region``.
        :param step: seconds per forecast step.
        :param free: (N, R) capacity that can be reserved, or None for no
            limit; the rest of a surge is a shortfall.
        :param reservations: the active reservations of that kind.
        :param skip: (N,) True where nothing is reserved.
        :returns: a :class:`~.actions.PlanResult` with ``reserve`` and
            ``release`` actions; summary ``surges``, ``reserved``,
            ``released``, ``kept``.
        """
        if kind not in KINDS:
            raise ShadowingError(reason='kind must be one of %s, got %r'
                                 % (', '.join(KINDS), kind))
        names = list(names)
        n, r = len(names), len(cluster.RESOURCE_CLASSES)
        current = np.asarray(current, dtype=float)
        upper = np.asarray(upper, dtype=float)
        if current.shape != (n, r) or upper.ndim != 3 or \
                upper.shape[0] != n or upper.shape[2] != r:
            raise ShadowingError(
                reason='expected current (%d, %d) and upper (%d, T, %d), '
                       'got %s and %s' % (n, r, n, r, current.shape,
                                          upper.shape))
        if not (np.all(np.isfinite(current)) and
                np.all(np.isfinite(upper))):
            raise ShadowingError(reason='the usage or the forecast holds '
                                        'NaN or infinite values')
        if step <= 0:
            raise ShadowingError(reason='step must be positive seconds')
        now = now or datetime.datetime.now(datetime.timezone.utc)
        reservations = [as_reservation(x, kind) for x in reservations]
        t_n = upper.shape[1]
        cur = current[:, self.class_idx]
        up = upper[:, :, self.class_idx]
        # (N, T, C): where the forecast passes current + margin.
        rise = up - cur[:, None, :]
        surge = (up > cur[:, None, :] * (1 + self.margin)) & \
            (rise >= self.min_amount) & (rise > 0)
        if self.lead is not None:
            surge[:, int(np.ceil(self.lead / step)):, :] = False
        if skip is not None:
            surge[np.asarray(skip, dtype=bool)] = False
        any_t = surge.any(axis=2)                         # (N, T)
        has = any_t.any(axis=1)                           # (N,)
        first = np.argmax(any_t, axis=1)
        last = t_n - 1 - np.argmax(any_t[:, ::-1], axis=1)
        # The capacity to hold: the largest rise over the surge's steps.
        need = np.where(surge, rise, 0).max(axis=1)       # (N, C)
        need = np.ceil(need - 1e-9)
        peak_step = np.argmax(np.where(surge, rise, -np.inf), axis=1)
        if free is not None:
            room = np.maximum(np.floor(
                np.asarray(free, dtype=float)[:, self.class_idx] + 1e-9), 0)
        else:
            room = np.full_like(need, np.inf)
        # What is already held, per resource and class.
        held = np.zeros_like(need)
        index = {name: i for i, name in enumerate(names)}
        by_res = {}
        for res in reservations:
            i = index.get(res.resource_id)
            if i is None:
                continue
            by_res.setdefault(i, []).append(res)
            held[i] += [float(res.resources.get(c, 0)) for c in self.classes]
        result = actions.PlanResult()
        kept = released = reserved = 0
        for i in np.flatnonzero(has | (held.sum(axis=1) > 0)):
            i = int(i)
            mine = by_res.get(i, [])
            want = need[i] if has[i] else np.zeros(len(self.classes))
            have = held[i]
            # Released when the forecast needs well below what is held.
            shrink = have > 0
            too_big = np.any(want[shrink] < have[shrink] *
                             self.release_ratio) if shrink.any() else False
            if mine and (not has[i] or too_big):
                for res in mine:
                    result.actions.append(self._release(
                        names[i], kind, res, want, have, upper[i], current[i],
                        has[i]))
                    released += 1
                have = np.zeros_like(have)
            elif mine:
                kept += len(mine)
            if not has[i]:
                continue
            extra = np.maximum(want - have, 0)
            grant = np.minimum(extra, room[i])
            short = extra - grant
            for c in np.flatnonzero(short > 0):
                result.shortfalls.append(actions.Shortfall(
                    resource_id=names[i], resource_class=self.classes[c],
                    amount=float(short[c]), resource_kind=kind,
                    reason='%s %s is predicted to need %g more %s but only '
                           '%g can be reserved there'
                           % (kind, names[i], extra[c], self.classes[c],
                              room[i, c])))
            if not np.any(grant > 0):
                continue
            start = now + datetime.timedelta(seconds=float(first[i] * step))
            end = now + datetime.timedelta(seconds=float((last[i] + 1) *
                                                         step))
            expires = end + datetime.timedelta(seconds=self.expiry_margin)
            resources = {self.classes[c]: int(grant[c])
                         for c in np.flatnonzero(grant > 0)}
            forecast = {}
            for c in range(len(self.classes)):
                rc = self.classes[c]
                ci = self.class_idx[c]
                forecast[rc] = {
                    'current': round(float(current[i, ci]), 6),
                    'peak_upper': round(float(upper[i, :, ci].max()), 6),
                    'peak_step': int(peak_step[i, c]),
                    'threshold': round(float(current[i, ci] *
                                             (1 + self.margin)), 6),
                }
            benefit = {'capacity_held': resources,
                       'surge_start': start.isoformat(),
                       'surge_end': end.isoformat()}
            constraint = 'predicted surge on %s %s' % (kind, names[i])
            result.actions.append(actions.PlannedAction(
                constants.ActionType.RESERVE, names[i], resource_kind=kind,
                reason={'forecast': forecast, 'constraint': constraint,
                        'benefit': benefit},
                parameters={'resources': resources, kind: names[i],
                            'starts_at': start.isoformat(),
                            'expires_at': expires.isoformat()}))
            reserved += 1
        result.summary.update(surges=int(has.sum()), reserved=reserved,
                              released=released, kept=kept,
                              steps=int(t_n), step=int(step))
        LOG.info('Surge shadowing over %d %ss: %d surges, %d reserve and %d '
                 'release actions', n, kind, result.summary['surges'],
                 reserved, released)
        return result

    def _release(self, name, kind, res, want, have, upper, current, surge):
        if surge:
            why = ('forecast revised down: it needs %s, %s holds %s'
                   % (self._fmt(want), res.id, self._fmt(have)))
        else:
            why = 'forecast revised down: no surge predicted any more'
        forecast = {rc: {'current': round(float(current[ci]), 6),
                         'peak_upper': round(float(upper[:, ci].max()), 6)}
                    for rc, ci in zip(self.classes, self.class_idx)}
        return actions.PlannedAction(
            constants.ActionType.RELEASE, res.id, resource_kind=kind,
            source=name,
            reason={'forecast': forecast, 'constraint': why,
                    'benefit': {'capacity_freed': dict(res.resources)}},
            parameters={'reservation': res.id,
                        'resources': dict(res.resources)})

    def _fmt(self, values):
        return ', '.join('%g %s' % (v, c)
                         for c, v in zip(self.classes, values))
