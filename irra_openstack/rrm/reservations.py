"""Reservations held in a region's Placement, and the leak reconciler.

A reservation is an allocation in Placement held by a consumer of its own
(a UUID that is neither an instance nor a migration), with
``consumer_type`` IRRA_RESERVATION (Placement microversion 1.38). Its expiry
and its state live in irra's database (:class:`Reservation
<irra_openstack.db.models.Reservation>`); the database row is written
before anything is asked of Placement, so every reservation consumer that
irra creates is known to irra first.

Safety, in the order things happen:

1. **Usage is checked first.** Before an allocation is written, the
   inventories and usages of every chosen provider are read and the
   request is refused, with the resource class, the provider and the
   amounts in the message, when it does not fit. Placement would refuse an
   allocation beyond capacity too; it is the ``reserved`` field of an
   inventory that Placement accepts beyond free capacity, and irra never
   raises it.
2. **Generation conflicts are retried.** A 409 with code
   ``placement.concurrent_update`` (the consumer or a provider changed
   between the read and the write) makes the manager read the state again
   and try again, up to ``max_attempts`` times in all.
3. **Lack of capacity is a clear failure.** Any other 409 is Placement
   refusing the allocation; the reservation becomes FAILED and
   :class:`ReservationRefused` carries Placement's own explanation.
4. **Conversion has no window.** :meth:`ReservationManager.convert` hands
   the reserved capacity to an instance in one ``POST /allocations``: in
   one Placement transaction the reservation consumer's allocations become
   empty and the instance consumer's allocations grow by the same amounts,
   both guarded by their consumer generations. This is how Nova moves
   allocations between an instance and its migration record.
5. **A reservation ends exactly once.** Conversion, release and expiry are
   compare-and-set transitions in the database (ACTIVE to CONVERTED,
   RELEASED or EXPIRED) made in the same database transaction as the
   Placement call; if Placement fails, the transaction rolls back and the
   reservation is still ACTIVE.
6. **Nothing leaks.** :meth:`ReservationManager.reconcile`, run at start-up
   and periodically, lists the allocations on the region's providers,
   finds the consumers of type IRRA_RESERVATION, and removes the
   allocations of those that irra does not know, whose reservation has
   ended, or that have expired.
"""

import dataclasses
import datetime
import re
import threading
import time
from urllib import parse as urlparse
import uuid

from keystoneauth1 import adapter as ks_adapter
from keystoneauth1 import exceptions as ks_exc
from oslo_log import log as logging
from oslo_utils import timeutils
from oslo_utils import uuidutils

from irra_openstack.db import constants
from irra_openstack.db import reservation_api
from irra_openstack import exception

LOG = logging.getLogger(__name__)

#: The Placement consumer type of irra's reservations.
CONSUMER_TYPE = 'IRRA_RESERVATION'
#: Placement microversion spoken: 1.38 adds consumer types.
MICROVERSION = '1.38'
#: Namespace of the UUIDs derived from idempotency keys.
KEY_NAMESPACE = uuid.UUID('5d2c7a47-1e51-4f0c-9d31-6a0d7c6a9e21')

_RC = re.compile(r'^([A-Z0-9_]+)$')
_CONFLICT = 'placement.concurrent_update'

State = constants.ReservationState


class PlacementError(exception.IrraError):
    """Placement answered something other than success or a conflict."""

    msg_fmt = ('Placement %(method)s %(path)s failed: %(detail)s')


class InvalidReservation(exception.IrraError):
    """The request for a reservation is malformed."""

    msg_fmt = 'Invalid reservation request: %(reason)s'


class InsufficientCapacity(exception.IrraError):
    """A chosen provider has not enough free capacity."""

    msg_fmt = ('Cannot reserve %(wanted)s %(rc)s on resource provider '
               '%(provider)s: %(reason)s')


class ReservationRefused(exception.IrraError):
    """Placement refused the allocation (no capacity, unknown provider)."""

    msg_fmt = ('Placement refused reservation %(uuid)s: %(detail)s')


class ReservationLost(exception.IrraError):
    """An ACTIVE reservation holds nothing in Placement any more."""

    msg_fmt = ('Reservation %(uuid)s holds no allocation in Placement '
               '(consumer %(consumer)s); it cannot be converted.')


class TooManyConflicts(exception.IrraError):
    """Generation conflicts did not stop within the attempts allowed."""

    msg_fmt = ('Gave up on %(what)s after %(attempts)d attempts: '
               'Placement reported a concurrent update each time.')


@dataclasses.dataclass
class ReconcileReport:
    """What one pass of the reconciler found and did."""

    #: Reservations that had expired and were released (UUIDs).
    expired: list = dataclasses.field(default_factory=list)
    #: Consumers of type IRRA_RESERVATION unknown to irra, released.
    orphans: list = dataclasses.field(default_factory=list)
    #: Consumers whose reservation had ended but still held allocations.
    leaked: list = dataclasses.field(default_factory=list)
    #: PENDING reservations found allocated, now ACTIVE.
    promoted: list = dataclasses.field(default_factory=list)
    #: ACTIVE reservations with no allocation on the providers scanned.
    lost: list = dataclasses.field(default_factory=list)
    #: Providers scanned and consumers whose type had to be read.
    providers: int = 0
    consumers_checked: int = 0
    #: Messages of the releases that failed (retried by the next pass).
    errors: list = dataclasses.field(default_factory=list)

    @property
    def released(self):
        """How many allocations the pass removed from Placement."""
        return len(self.expired) + len(self.orphans) + len(self.leaked)


def consumer_for_key(region, key):
    """The reservation consumer UUID of idempotency key ``key``.

    The same key in the same region always gives the same consumer, so a
    repeated RESERVE action finds its reservation instead of making a
    second one.
    """
    return str(uuid.uuid5(KEY_NAMESPACE, '%s\n%s' % (region, key)))


def _reservation_uuid(consumer_uuid):
    return str(uuid.uuid5(KEY_NAMESPACE, 'reservation\n%s' % consumer_uuid))


def _naive_utc(value):
    if isinstance(value, str):
        try:
            value = timeutils.parse_isotime(value)
        except ValueError as exc:
            raise InvalidReservation(reason='expires_at %r is not an ISO '
                                     '8601 time (%s)' % (value, exc))
    if not isinstance(value, datetime.datetime):
        raise InvalidReservation(reason='expires_at must be a time, not %r'
                                 % (value,))
    return timeutils.normalize_time(value)


def validate_resources(resources):
    """Check ``resources``: {resource class: positive int}.

    :raises InvalidReservation: saying what is wrong.
    """
    if not isinstance(resources, dict) or not resources:
        raise InvalidReservation(reason='resources must be a non-empty '
                                 'mapping of resource class to amount, '
                                 'not %r' % (resources,))
    out = {}
    for rc, amount in resources.items():
        if not isinstance(rc, str) or not _RC.match(rc):
            raise InvalidReservation(reason='%r is not a resource class '
                                     '(upper case letters, digits and _)'
                                     % (rc,))
        if isinstance(amount, bool) or not isinstance(amount, int) or \
                amount <= 0:
            raise InvalidReservation(reason='the amount of %s must be a '
                                     'positive integer, not %r'
                                     % (rc, amount))
        out[rc] = amount
    return out


class ReservationManager:
    """Reservations of one region, in that region's Placement.

    :param adapter: a keystoneauth1 Adapter for Placement (service type
        ``placement``), built by the caller.
    :param region: the region name, as stored on each reservation.
    :param project_id: the project that owns reservation consumers unless
        a reservation names its own.
    :param user_id: the user of reservation consumers.
    :param max_attempts: writes tried per change, generation conflicts
        included.
    :param retry_delay: seconds before the first retry after a conflict;
        doubled after each one.
    :param sleep: how to wait (injectable, so tests do not wait).
    :param now: returns the current naive UTC time (injectable).
    :param hooks: {point: callable(**details)} called at named points, for
        fault injection: ``before_write`` (before each Placement write,
        with ``operation``, ``consumer`` and ``attempt``).
    """

    def __init__(self, adapter, region, project_id, user_id,
                 max_attempts=5, retry_delay=0.05, sleep=time.sleep,
                 now=timeutils.utcnow, hooks=None):
        if max_attempts < 1:
            raise InvalidReservation(reason='max_attempts must be at least '
                                     '1, not %r' % (max_attempts,))
        self.adapter = adapter
        self.region = region
        self.project_id = project_id
        self.user_id = user_id
        self.max_attempts = max_attempts
        self.retry_delay = retry_delay
        self.sleep = sleep
        self.now = now
        self.hooks = dict(hooks or {})
        #: Consumers seen on the providers that are not reservations
        #: (instances, migrations): their type is read only once.
        self._foreign = set()
        self._lock = threading.Lock()
        #: Placement requests made, by method (for benchmarks and tests).
        self.requests = {}

    # Placement, the HTTP part.

    def _request(self, method, path, body=None):
        """(status, decoded body or None); conflicts are the caller's."""
        with self._lock:
            self.requests[method] = self.requests.get(method, 0) + 1
        try:
            resp = self.adapter.request(path, method, json=body,
                                        microversion=MICROVERSION,
                                        raise_exc=False)
        except ks_exc.ClientException as exc:
            raise PlacementError(method=method, path=path,
                                 detail='cannot reach Placement: %s' % exc)
        data = None
        if resp.content:
            try:
                data = resp.json()
            except ValueError:
                data = None
        if resp.status_code >= 400 and resp.status_code != 409:
            raise PlacementError(method=method, path=path,
                                 detail='HTTP %d: %s' % (
                                     resp.status_code,
                                     self._detail(data, resp)))
        return resp.status_code, data

    @staticmethod
    def _detail(data, resp=None):
        try:
            errors = data['errors']
            return ' '.join(' '.join(str(e.get('detail', '')).split())
                            for e in errors).strip()
        except (KeyError, TypeError, AttributeError):
            return resp.text.strip()[:500] if resp is not None else ''

    @staticmethod
    def _code(data):
        try:
            return data['errors'][0].get('code')
        except (KeyError, IndexError, TypeError, AttributeError):
            return None

    def _hook(self, point, **details):
        hook = self.hooks.get(point)
        if hook is not None:
            hook(**details)

    def _backoff(self, attempt):
        self.sleep(self.retry_delay * (2 ** (attempt - 1)))

    def consumer_allocations(self, consumer_uuid):
        """GET /allocations/{consumer}: the decoded body.

        ``allocations`` is {} and ``consumer_generation`` absent (None)
        when the consumer holds nothing.
        """
        _status, data = self._request('GET', '/allocations/%s'
                                      % consumer_uuid)
        return data or {'allocations': {}}

    def providers_for_hosts(self, hosts):
        """{host: provider UUID} of the compute nodes named ``hosts``.

        :raises InvalidReservation: a host has no resource provider.
        """
        found = {}
        for host in hosts:
            _s, data = self._request('GET', '/resource_providers?name=%s'
                                     % urlparse.quote(host, safe=''))
            rps = data.get('resource_providers', [])
            if not rps:
                raise InvalidReservation(reason='host %r has no resource '
                                         'provider in Placement' % host)
            found[host] = rps[0]['uuid']
        return found

    def region_providers(self):
        """The UUIDs of every resource provider of the region."""
        _s, data = self._request('GET', '/resource_providers')
        return [rp['uuid'] for rp in data.get('resource_providers', [])]

    def check_capacity(self, wanted):
        """Refuse ``wanted`` ({provider: {rc: amount}}) if it does not fit.

        Reads each provider's inventories and usages; an amount must be at
        most the free capacity ((total - reserved) * allocation_ratio -
        used), within [min_unit, max_unit] and a multiple of step_size.

        :raises InsufficientCapacity: naming the first thing that does not
            fit.
        """
        for provider, resources in wanted.items():
            _s, inv = self._request(
                'GET', '/resource_providers/%s/inventories' % provider)
            _s, use = self._request(
                'GET', '/resource_providers/%s/usages' % provider)
            inventories = inv.get('inventories', {})
            usages = use.get('usages', {})
            for rc, amount in resources.items():
                record = inventories.get(rc)
                if record is None:
                    raise InsufficientCapacity(
                        wanted=amount, rc=rc, provider=provider,
                        reason='the provider has no %s inventory' % rc)
                capacity = int((record['total'] - record['reserved']) *
                               record['allocation_ratio'])
                free = capacity - usages.get(rc, 0)
                if amount > free:
                    raise InsufficientCapacity(
                        wanted=amount, rc=rc, provider=provider,
                        reason='only %d free of %d usable (%d used)'
                               % (free, capacity, usages.get(rc, 0)))
                if amount > record['max_unit'] or \
                        amount < record['min_unit'] or \
                        amount % record['step_size']:
                    raise InsufficientCapacity(
                        wanted=amount, rc=rc, provider=provider,
                        reason='allocations there must be between %d and '
                               '%d in steps of %d'
                               % (record['min_unit'], record['max_unit'],
                                  record['step_size']))

    # Reservations.

    def reserve(self, resources, providers, expires_at, key=None,
                project_id=None, user_id=None):
        """Hold ``resources`` on each of ``providers`` until ``expires_at``.

        :param resources: {resource class: amount}, reserved on each
            provider.
        :param providers: resource provider UUIDs.
        :param expires_at: a datetime (naive UTC or aware) or ISO 8601 text.
        :param key: idempotency key: the same key gives the same
            reservation, however often it is asked for.
        :returns: the reservation, a dict, normally ACTIVE. A reservation
            that existed for ``key`` already is returned as it is.
        :raises InvalidReservation: the request is malformed.
        :raises InsufficientCapacity, ReservationRefused: it does not fit;
            the reservation is then FAILED.
        :raises TooManyConflicts: conflicts went on; it is then FAILED.
        :raises PlacementError: Placement could not be reached or failed;
            the reservation stays PENDING for the reconciler or a retry.
        """
        resources = validate_resources(resources)
        providers = list(dict.fromkeys(providers or ()))
        if not providers:
            raise InvalidReservation(reason='no resource provider given')
        for provider in providers:
            if not uuidutils.is_uuid_like(provider):
                raise InvalidReservation(reason='%r is not a resource '
                                         'provider UUID' % (provider,))
        expires_at = _naive_utc(expires_at)
        if expires_at <= self.now():
            raise InvalidReservation(reason='expires_at %s is not in the '
                                     'future' % expires_at.isoformat())
        consumer = (consumer_for_key(self.region, key) if key
                    else uuidutils.generate_uuid())
        values = {'uuid': _reservation_uuid(consumer),
                  'consumer_uuid': consumer, 'region': self.region,
                  'project_id': project_id or self.project_id,
                  'resources': resources, 'provider_uuids': providers,
                  'expires_at': expires_at, 'state': State.PENDING}
        try:
            row = reservation_api.reservation_create(values)
        except reservation_api.ReservationExists:
            row = reservation_api.reservation_get_by_consumer(consumer)
            if row['state'] != State.PENDING:
                LOG.debug('Reservation %s exists already (%s)',
                          row['uuid'], row['state'])
                return row
        # A PENDING row found again is resumed with what it asked for.
        wanted = {p: {'resources': dict(row['resources'])}
                  for p in row['provider_uuids']}
        try:
            self._allocate(row, wanted, user_id or self.user_id)
        except (InsufficientCapacity, ReservationRefused, TooManyConflicts):
            reservation_api.reservation_transition(
                row['uuid'], (State.PENDING,), State.FAILED)
            raise
        reservation_api.reservation_transition(
            row['uuid'], (State.PENDING,), State.ACTIVE)
        row = reservation_api.reservation_get(row['uuid'])
        LOG.info('Reservation %(r)s of %(res)s on %(n)d provider(s) is '
                 '%(state)s until %(exp)s',
                 {'r': row['uuid'], 'res': resources, 'n': len(providers),
                  'state': row['state'], 'exp': expires_at.isoformat()})
        return row

    def _allocate(self, row, wanted, user_id):
        consumer = row['consumer_uuid']
        for attempt in range(1, self.max_attempts + 1):
            current = self.consumer_allocations(consumer)
            held = {p: {'resources': a['resources']}
                    for p, a in current.get('allocations', {}).items()}
            if held == wanted:
                # Written by an earlier attempt or a twin request.
                return
            self.check_capacity({p: a['resources']
                                 for p, a in wanted.items()
                                 if p not in held})
            self._hook('before_write', operation='reserve',
                       consumer=consumer, attempt=attempt)
            status, data = self._request('PUT', '/allocations/%s' % consumer, {
                'allocations': wanted,
                'consumer_generation': current.get('consumer_generation'),
                'consumer_type': CONSUMER_TYPE,
                'project_id': row['project_id'] or self.project_id,
                'user_id': user_id})
            if status < 300:
                return
            if self._code(data) != _CONFLICT:
                raise ReservationRefused(uuid=row['uuid'],
                                         detail=self._detail(data))
            LOG.debug('Reservation %s: generation conflict, attempt %d',
                      row['uuid'], attempt)
            if attempt < self.max_attempts:
                self._backoff(attempt)
        raise TooManyConflicts(what='reservation %s' % row['uuid'],
                               attempts=self.max_attempts)

    def _empty(self, consumer, what):
        """Remove every allocation of ``consumer``; True if it had some."""
        for attempt in range(1, self.max_attempts + 1):
            current = self.consumer_allocations(consumer)
            if not current.get('allocations'):
                return attempt > 1
            self._hook('before_write', operation='release',
                       consumer=consumer, attempt=attempt)
            status, data = self._request('PUT', '/allocations/%s' % consumer, {
                'allocations': {},
                'consumer_generation': current.get('consumer_generation'),
                'consumer_type': current.get('consumer_type',
                                             CONSUMER_TYPE),
                'project_id': current['project_id'],
                'user_id': current['user_id']})
            if status < 300:
                return True
            if self._code(data) != _CONFLICT:
                raise PlacementError(method='PUT', path='/allocations/%s'
                                     % consumer, detail=self._detail(data))
            if attempt < self.max_attempts:
                self._backoff(attempt)
        raise TooManyConflicts(what=what, attempts=self.max_attempts)

    def release(self, reservation_uuid, state=State.RELEASED):
        """End an ACTIVE (or PENDING) reservation and free its capacity.

        :param state: RELEASED, or EXPIRED when its time is up.
        :returns: the reservation as it is now.
        :raises ReservationEnded: it had ended already; nothing changed.
        :raises PlacementError, TooManyConflicts: Placement could not free
            it; the reservation is still ACTIVE.
        """
        if state not in (State.RELEASED, State.EXPIRED):
            raise InvalidReservation(reason='a released reservation ends '
                                     'RELEASED or EXPIRED, not %r' % state)
        with reservation_api.transition_guard(
                reservation_uuid, (State.PENDING, State.ACTIVE),
                state) as (_changed, before):
            self._empty(before['consumer_uuid'],
                        'release of %s' % reservation_uuid)
        LOG.info('Reservation %s is %s', reservation_uuid, state)
        return reservation_api.reservation_get(reservation_uuid)

    def convert(self, reservation_uuid, consumer_uuid, project_id, user_id,
                consumer_type='INSTANCE', resources=None):
        """Hand an ACTIVE reservation's capacity to ``consumer_uuid``.

        One ``POST /allocations`` empties the reservation consumer and
        adds the reserved amounts (or ``resources``, at most those; the
        rest is freed) to the consumer's allocations on the same
        providers, both under their consumer generations. There is no
        moment at which the capacity is free for someone else.

        :returns: the reservation, now CONVERTED.
        :raises ReservationEnded: it is not ACTIVE.
        :raises ReservationLost: it holds nothing in Placement any more.
        :raises ReservationRefused: Placement refused the move; the
            reservation is still ACTIVE.
        """
        if not uuidutils.is_uuid_like(consumer_uuid):
            raise InvalidReservation(reason='%r is not a consumer UUID'
                                     % (consumer_uuid,))
        with reservation_api.transition_guard(
                reservation_uuid, (State.ACTIVE,),
                State.CONVERTED) as (_changed, before):
            handed = dict(before['resources'])
            if resources is not None:
                resources = validate_resources(resources)
                extra = {rc: n for rc, n in resources.items()
                         if n > handed.get(rc, 0)}
                if extra:
                    raise InvalidReservation(
                        reason='reservation %s holds %s per provider, less '
                               'than the %s asked for'
                               % (reservation_uuid, before['resources'],
                                  resources))
                handed = resources
            self._move(before, consumer_uuid, project_id, user_id,
                       consumer_type, handed)
        LOG.info('Reservation %s converted to consumer %s',
                 reservation_uuid, consumer_uuid)
        return reservation_api.reservation_get(reservation_uuid)

    def _move(self, reservation, target, project_id, user_id,
              consumer_type, handed):
        source = reservation['consumer_uuid']
        for attempt in range(1, self.max_attempts + 1):
            held = self.consumer_allocations(source)
            if not held.get('allocations'):
                raise ReservationLost(uuid=reservation['uuid'],
                                      consumer=source)
            vm = self.consumer_allocations(target)
            merged = {p: {'resources': dict(a['resources'])}
                      for p, a in vm.get('allocations', {}).items()}
            for provider in held['allocations']:
                res = merged.setdefault(provider, {'resources': {}})
                for rc, amount in handed.items():
                    res['resources'][rc] = res['resources'].get(rc, 0) + \
                        amount
            body = {
                source: {
                    'allocations': {},
                    'consumer_generation': held['consumer_generation'],
                    'consumer_type': CONSUMER_TYPE,
                    'project_id': held['project_id'],
                    'user_id': held['user_id']},
                target: {
                    'allocations': merged,
                    'consumer_generation': vm.get('consumer_generation'),
                    'consumer_type': vm.get('consumer_type',
                                            consumer_type),
                    'project_id': vm.get('project_id', project_id),
                    'user_id': vm.get('user_id', user_id)},
            }
            self._hook('before_write', operation='convert', consumer=source,
                       attempt=attempt)
            status, data = self._request('POST', '/allocations', body)
            if status < 300:
                return
            if self._code(data) != _CONFLICT:
                raise ReservationRefused(uuid=reservation['uuid'],
                                         detail=self._detail(data))
            if attempt < self.max_attempts:
                self._backoff(attempt)
        raise TooManyConflicts(what='conversion of %s' % reservation['uuid'],
                               attempts=self.max_attempts)

    def expire(self, errors=None):
        """Release every live reservation of the region past its expiry.

        A reservation that Placement fails to free stays ACTIVE (the next
        pass tries again); its error is appended to ``errors`` if given,
        else raised once the others are done.

        :returns: the UUIDs expired by this call.
        """
        done = []
        failed = [] if errors is None else errors
        for row in reservation_api.reservation_list_live(
                self.region, expired_before=self.now()):
            try:
                self.release(row['uuid'], state=State.EXPIRED)
            except reservation_api.ReservationEnded:
                continue
            except exception.IrraError as exc:
                LOG.warning('Expiry of reservation %s failed: %s',
                            row['uuid'], exc)
                failed.append(str(exc))
                continue
            done.append(row['uuid'])
        if errors is None and failed:
            raise PlacementError(method='expiry', path='of reservations',
                                 detail='; '.join(failed))
        return done

    def _release_quietly(self, consumer, what, report):
        try:
            return self._empty(consumer, what)
        except exception.IrraError as exc:
            LOG.warning('%s failed: %s', what, exc)
            report.errors.append(str(exc))
            return False

    def reconcile(self, providers=None):
        """One pass of the leak reconciler: expire, then sweep Placement.

        :param providers: the providers to sweep; all of the region's by
            default (one Placement per region).
        :returns: a :class:`ReconcileReport`.
        """
        report = ReconcileReport()
        report.expired = self.expire(errors=report.errors)
        if providers is None:
            providers = self.region_providers()
        # Consumer -> providers it holds allocations on.
        holders = {}
        for provider in providers:
            _s, data = self._request(
                'GET', '/resource_providers/%s/allocations' % provider)
            for consumer in (data or {}).get('allocations', {}):
                holders.setdefault(consumer, set()).add(provider)
        report.providers = len(providers)
        known = reservation_api.reservation_list_by_consumers(holders)
        for consumer in sorted(set(holders) - set(known) - self._foreign):
            report.consumers_checked += 1
            found = self.consumer_allocations(consumer)
            if found.get('consumer_type') != CONSUMER_TYPE:
                if found.get('allocations'):
                    self._foreign.add(consumer)
                continue
            LOG.warning('Releasing allocations of reservation consumer %s '
                        'on %s: irra has no reservation for it',
                        consumer, ', '.join(sorted(holders[consumer])))
            if self._release_quietly(consumer, 'Release of orphan %s'
                                     % consumer, report):
                report.orphans.append(consumer)
        for consumer, row in known.items():
            if row['state'] in State.FINAL:
                LOG.warning('Releasing allocations of reservation %s, '
                            'which is %s', row['uuid'], row['state'])
                if self._release_quietly(consumer, 'Release of %s'
                                         % row['uuid'], report):
                    report.leaked.append(consumer)
            elif row['state'] == State.PENDING and \
                    reservation_api.reservation_transition(
                        row['uuid'], (State.PENDING,), State.ACTIVE):
                report.promoted.append(row['uuid'])
        held = set(holders)
        scanned = set(providers)
        for row in reservation_api.reservation_list_live(self.region):
            if row['state'] == State.ACTIVE and \
                    row['consumer_uuid'] not in held and \
                    set(row['provider_uuids']) <= scanned:
                report.lost.append(row['uuid'])
        if report.released or report.lost or report.errors:
            LOG.info('Reservation reconciler: %(e)d expired, %(o)d orphan '
                     'and %(l)d leaked allocation(s) released, %(x)d '
                     'reservation(s) lost, %(f)d release(s) failed',
                     {'e': len(report.expired), 'o': len(report.orphans),
                      'l': len(report.leaked), 'x': len(report.lost),
                      'f': len(report.errors)})
        return report


class PeriodicReconciler:
    """Runs :meth:`ReservationManager.reconcile` now and every ``interval``.

    A daemon thread; :meth:`stop` ends it. A failed pass is logged and the
    next one runs on time. The first pass runs as soon as it starts, which
    is the start-up reconciliation of irra-rrm.
    """

    def __init__(self, manager, interval, providers=None):
        if interval <= 0:
            raise InvalidReservation(reason='the reconciler interval must '
                                     'be positive, not %r' % (interval,))
        self.manager = manager
        self.interval = interval
        self.providers = providers
        self.passes = 0
        self.last_report = None
        self._stop = threading.Event()
        self._thread = None

    def run_once(self):
        """One pass; returns its report, or None if it failed."""
        try:
            self.last_report = self.manager.reconcile(self.providers)
        except exception.IrraError as exc:
            LOG.error('Reservation reconciler pass failed: %s', exc)
            return None
        finally:
            self.passes += 1
        return self.last_report

    def _loop(self):
        self.run_once()
        while not self._stop.wait(self.interval):
            self.run_once()

    def start(self):
        """Start the thread; its first pass runs at once (start-up)."""
        self._thread = threading.Thread(target=self._loop, daemon=True,
                                        name='irra-reservation-reconciler')
        self._thread.start()
        return self

    def stop(self, timeout=None):
        """Stop after the current pass."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)


def manager_from_config(conf, region):
    """The reservation manager of ``region`` built from irra.conf.

    Placement is reached with the keystoneauth session of
    [datasources_auth] (service type ``placement``, that region's internal
    endpoint), and reservation consumers belong to the project and user
    that the session authenticates as. Name this function in [rrm]
    reservation_factory to use it.

    :raises ConfigError: the credentials give no project or user.
    """
    from irra_openstack.datasources import inventory

    session = inventory.session_from_conf(conf)
    adapter = ks_adapter.Adapter(session, service_type='placement',
                                 region_name=region, interface='internal')
    try:
        project_id = session.get_project_id()
        user_id = session.get_user_id()
    except ks_exc.ClientException as exc:
        raise exception.ConfigError(
            reason='cannot authenticate with [datasources_auth] to own '
                   'reservations in Placement: %s' % exc)
    if not project_id or not user_id:
        raise exception.ConfigError(
            reason='[datasources_auth] must authenticate a project-scoped '
                   'user: reservation consumers in Placement need a project '
                   'and a user')
    return ReservationManager(adapter, region, project_id, user_id)
