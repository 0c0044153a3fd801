"""Versioned notifications of irra-rrm.

irra-rrm sends, with oslo.messaging's notifier (``[oslo_messaging_
notifications] driver``, e.g. ``messagingv2``) and the publisher id
``irra-rrm.<region>``:

====================================  ======================  ========
event type                            payload                 priority
====================================  ======================  ========
``irra.action.execute.start``         ActionPayload 1.0       INFO
``irra.action.execute.end``           ActionPayload 1.0       INFO
``irra.action.execute.error``         ActionPayload 1.0       ERROR
``irra.reservation.create.start``     ReservationPayload 1.0  INFO
``irra.reservation.create.end``       ReservationPayload 1.0  INFO
``irra.reservation.create.error``     ReservationPayload 1.0  ERROR
``irra.reservation.release.start``    ReservationPayload 1.0  INFO
``irra.reservation.release.end``      ReservationPayload 1.0  INFO
``irra.reservation.release.error``    ReservationPayload 1.0  ERROR
``irra.plan.update``                  PlanPayload 1.0         INFO, ERROR
                                                              when FAILED
====================================  ======================  ========

The payloads are those of :mod:`irra_openstack.notifications`, in the same
versioned envelope. An action that ends SKIPPED or CANCELLED without
having run sends only ``.end``.

Sending never holds up the work it reports: notifications are queued and
sent by a thread of their own, in order, so an action ends (and is
recorded) while the broker is down; the queued notifications go out once
it is back (oslo.messaging retries per ``[oslo_messaging_notifications]
retry``).
"""

import queue
import threading

from oslo_log import log as logging
import oslo_messaging

from irra_openstack import notifications

LOG = logging.getLogger(__name__)

PUBLISHER = 'irra-rrm'

_RESERVATION_DEFAULTS = {
    'uuid': None, 'consumer_uuid': None, 'region': None, 'project_id': None,
    'resources': None, 'state': None, 'expires_at': None,
    'updated_at': None,
}


def reservation_payload(reservation, old_state=None):
    """ReservationPayload of a reservation dict, or of what is known."""
    data = dict(_RESERVATION_DEFAULTS)
    data.update({k: v for k, v in (reservation or {}).items()
                 if k in _RESERVATION_DEFAULTS})
    return notifications.reservation_payload(data, old_state)


class RRMNotifier:
    """The notifier of one region's irra-rrm.

    :param conf: the service's configuration object (oslo.messaging's
        options registered).
    :param region: the region name, in the publisher id.
    :param transport: a notification transport; by default one is made
        from ``conf``.
    :param notifier: an ``oslo_messaging.Notifier`` to use instead
        (tests).
    """

    def __init__(self, conf, region, transport=None, notifier=None):
        self.region = region
        self.publisher_id = '%s.%s' % (PUBLISHER, region)
        self._owns_transport = False
        if notifier is None:
            if transport is None:
                transport = oslo_messaging.get_notification_transport(conf)
                self._owns_transport = True
            notifier = oslo_messaging.Notifier(
                transport, publisher_id=self.publisher_id)
        self._transport = transport
        self._notifier = notifier
        self._queue = queue.Queue()
        self._thread = None
        self._lock = threading.Lock()
        #: Notifications sent, by event type (tests and benchmarks).
        self.sent = {}

    def enabled(self):
        return self._notifier.is_enabled()

    def _start(self):
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name='rrm-notify', daemon=True)
                self._thread.start()

    def _loop(self):
        while True:
            item = self._queue.get()
            if item is None:
                self._queue.task_done()
                return
            priority, event_type, payload = item
            try:
                getattr(self._notifier, priority)({}, event_type, payload)
                self.sent[event_type] = self.sent.get(event_type, 0) + 1
            except Exception:
                # A notification must never fail the change it reports.
                LOG.exception('Cannot send the notification %s',
                              event_type)
            finally:
                self._queue.task_done()

    def send(self, priority, event_type, payload):
        """Queue one notification; returns at once."""
        if not self._notifier.is_enabled():
            return
        self._start()
        self._queue.put((priority, event_type, payload))

    def flush(self):
        """Wait until every queued notification was sent (or failed)."""
        if self._thread is not None:
            self._queue.join()

    def close(self):
        """Send what is queued, stop the thread, close the transport."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        if self._owns_transport:
            self._transport.cleanup()

    def action(self, phase, before, after, error=None):
        """An action started (``start``), ended or failed (``error``)."""
        priority = 'error' if phase == 'error' else 'info'
        self.send(priority, 'irra.action.execute.%s' % phase,
                  notifications.action_payload(
                      after, before['state'] if before else None))

    def plan(self, before, after):
        """A plan changed state (as irra-api's ``irra.plan.update``)."""
        if before['state'] == after['state']:
            return
        priority = 'error' if after['state'] == 'FAILED' else 'info'
        self.send(priority, 'irra.plan.update',
                  notifications.plan_payload(after, before['state']))

    def reservation(self, operation, phase, reservation, old_state=None):
        """A reservation ``operation`` (create, release) at ``phase``."""
        priority = 'error' if phase == 'error' else 'info'
        self.send(priority, 'irra.reservation.%s.%s' % (operation, phase),
                  reservation_payload(reservation, old_state))
