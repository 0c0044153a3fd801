"""Versioned notifications of irra, sent with oslo.messaging.

irra sends a notification when a plan or an action changes state, when a
reservation is released, when an anomaly is recorded and when a trade is
made. Each is sent with the ``messagingv2`` driver (or whichever
``[oslo_messaging_notifications] driver`` names) to the ``notifications``
topic (``[oslo_messaging_notifications] topics``); nothing is sent while no
driver is configured.

Event types and payloads (see ``doc/source/admin/notifications.rst`` for
every field):

=============================  =====================  ========
event type                     payload                priority
=============================  =====================  ========
``irra.plan.create``           PlanPayload 1.0        INFO
``irra.plan.update``           PlanPayload 1.0        INFO, ERROR when FAILED
``irra.action.update``         ActionPayload 1.0      INFO, ERROR when FAILED
``irra.reservation.release``   ReservationPayload 1.0 INFO
``irra.anomaly.create``        AnomalyPayload 1.0     WARN
``irra.market.trade``          TradePayload 1.0       INFO
=============================  =====================  ========

A payload is versioned like Nova's::

    {"irra_object.name": "PlanPayload",
     "irra_object.namespace": "irra",
     "irra_object.version": "1.0",
     "irra_object.data": {...}}

A minor version only adds fields; a major version changes or removes one.
"""

import datetime
import socket

from oslo_log import log as logging
import oslo_messaging

LOG = logging.getLogger(__name__)

NAMESPACE = 'irra'

#: Payload name -> (version, fields), the schema of each payload.
PAYLOADS = {
    'PlanPayload': ('1.0', (
        'id', 'state', 'old_state', 'mode', 'automation_level', 'scope',
        'project_id', 'action_counts', 'created_at', 'updated_at')),
    'ActionPayload': ('1.0', (
        'id', 'plan_id', 'action_type', 'state', 'old_state',
        'resource_kind', 'resource_id', 'source', 'destination',
        'attempts', 'error', 'operator_reason', 'updated_at')),
    'ReservationPayload': ('1.0', (
        'id', 'consumer_uuid', 'region', 'project_id', 'resources',
        'state', 'old_state', 'expires_at', 'updated_at')),
    'AnomalyPayload': ('1.0', (
        'id', 'resource_kind', 'resource_id', 'kind', 'metric', 'detector',
        'severity', 'started_at', 'ended_at', 'project_id', 'root_cause')),
    'TradePayload': ('1.0', (
        'id', 'buyer_region', 'seller_region', 'resource_class', 'quantity',
        'price', 'plan_id', 'created_at')),
}

_SCOPE_KEYS = ('region', 'aggregate', 'availability_zone', 'exclusions')
_DB_LEVELS = {'advisory': 'advisory', 'approval': 'manual',
              'automatic': 'full'}


def _time(value):
    if isinstance(value, datetime.datetime):
        return value.replace(tzinfo=None).isoformat(
            timespec='seconds') + 'Z'
    return value


def versioned(name, data):
    """The versioned envelope of payload ``name``, with its fields only."""
    version, fields = PAYLOADS[name]
    missing = [f for f in fields if f not in data]
    if missing:
        raise ValueError('%s lacks %s' % (name, ', '.join(missing)))
    return {
        'irra_object.name': name,
        'irra_object.namespace': NAMESPACE,
        'irra_object.version': version,
        'irra_object.data': {f: _time(data[f]) for f in fields},
    }


def plan_payload(plan, old_state=None):
    """PlanPayload of a plan dict (:mod:`irra_openstack.db.plan_api`)."""
    scope = plan.get('scope') or {}
    return versioned('PlanPayload', {
        'id': plan['uuid'], 'state': plan['state'], 'old_state': old_state,
        'mode': scope.get('mode', 'one-shot'),
        'automation_level': scope.get(
            'automation_level',
            _DB_LEVELS.get(plan.get('automation_level'), 'manual')),
        'scope': {k: scope[k] for k in _SCOPE_KEYS if k in scope},
        'project_id': plan.get('project_id'),
        'action_counts': plan.get('action_counts'),
        'created_at': plan.get('created_at'),
        'updated_at': plan.get('updated_at')})


def action_payload(action, old_state=None, operator_reason=None):
    """ActionPayload of an action dict (plan_api)."""
    return versioned('ActionPayload', {
        'id': action['uuid'], 'plan_id': action['plan_uuid'],
        'action_type': action['action_type'], 'state': action['state'],
        'old_state': old_state, 'resource_kind': action['resource_kind'],
        'resource_id': action['resource_id'], 'source': action['source'],
        'destination': action['destination'],
        'attempts': action['attempts'], 'error': action['error'],
        'operator_reason': operator_reason,
        'updated_at': action.get('updated_at')})


def reservation_payload(reservation, old_state=None):
    """ReservationPayload of a reservation dict (reservation_api)."""
    return versioned('ReservationPayload', dict(
        {k: reservation.get(k) for k in PAYLOADS['ReservationPayload'][1]},
        id=reservation['uuid'], old_state=old_state))


def anomaly_payload(anomaly):
    """AnomalyPayload of an anomaly dict (readonly_api.anomaly_get)."""
    data = {k: anomaly.get(k) for k in PAYLOADS['AnomalyPayload'][1]}
    data['id'] = anomaly['uuid']
    return versioned('AnomalyPayload', data)


def trade_payload(trade):
    """TradePayload of a trade dict (market_api.trade_list)."""
    data = {k: trade.get(k) for k in PAYLOADS['TradePayload'][1]}
    data['id'] = trade['uuid']
    data['plan_id'] = trade.get('plan_uuid')
    return versioned('TradePayload', data)


class Notifier:
    """irra's notifier: one oslo.messaging Notifier, built from ``conf``.

    ``conf`` is an oslo.config object; oslo.messaging registers its
    [oslo_messaging_notifications] and transport options on it. With no
    driver configured, every method returns at once.
    """

    def __init__(self, conf, service='irra-api', host=None, transport=None):
        self._notifier = None
        self._conf = conf
        self._service = service
        self._host = host or socket.gethostname()
        self._transport = transport

    def _get(self):
        if self._notifier is None:
            transport = self._transport
            if transport is None:
                transport = oslo_messaging.get_notification_transport(
                    self._conf)
            publisher = '%s:%s' % (self._service, self._host)
            self._notifier = oslo_messaging.Notifier(
                transport, publisher_id=publisher)
        return self._notifier

    def enabled(self):
        return self._get().is_enabled()

    def _send(self, ctx, priority, event_type, payload):
        notifier = self._get()
        if not notifier.is_enabled():
            return
        ctxt = ctx.to_dict() if ctx is not None else {}
        try:
            getattr(notifier, priority)(ctxt, event_type, payload)
        except Exception:
            # A notification must never fail the change it reports.
            LOG.exception('Cannot send the notification %s', event_type)

    def plan_state(self, ctx, before, after):
        """A plan was created (``before`` None) or changed state."""
        if before is None:
            self._send(ctx, 'info', 'irra.plan.create', plan_payload(after))
            return
        if before['state'] == after['state']:
            return
        priority = 'error' if after['state'] == 'FAILED' else 'info'
        self._send(ctx, priority, 'irra.plan.update',
                   plan_payload(after, before['state']))

    def action_state(self, ctx, before, after, operator_reason=None):
        """An action changed state."""
        if before is not None and before['state'] == after['state']:
            return
        priority = 'error' if after['state'] == 'FAILED' else 'info'
        self._send(ctx, priority, 'irra.action.update', action_payload(
            after, before['state'] if before else None, operator_reason))

    def reservation_release(self, ctx, before, after):
        """A reservation was released."""
        self._send(ctx, 'info', 'irra.reservation.release',
                   reservation_payload(after, before['state']))

    def anomaly(self, ctx, anomaly):
        """An anomaly was recorded."""
        self._send(ctx, 'warn', 'irra.anomaly.create',
                   anomaly_payload(anomaly))

    def trade(self, ctx, trade):
        """A trade was made between two regions."""
        self._send(ctx, 'info', 'irra.market.trade', trade_payload(trade))
