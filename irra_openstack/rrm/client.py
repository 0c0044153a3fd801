"""The engine's client of every region's irra-rrm: fan-out, never silent.

:class:`RRMClient` sends one call to each region at once (a thread per
region) and gathers the answers in a :class:`FanOut`: which regions
answered, with what, and which did not, with why. A region that is down or
too slow is *missing* from the answer; :attr:`FanOut.complete` is False
then, and nothing here pretends otherwise.

Every call of the irra-rrm API is idempotent (actions are keyed by their
idempotency keys, reservations by theirs), so a call that timed out or met
an unreachable broker is sent again, up to ``[rrm] rpc_retries`` times.
Errors that the region raised on purpose (bad input, a conflict) are not
retried: they are the region's answer.
"""

from concurrent import futures
import dataclasses
import time

from oslo_log import log as logging
import oslo_messaging

from irra_openstack.db import constants
from irra_openstack import exception
from irra_openstack.rrm import rpcapi

LOG = logging.getLogger(__name__)

#: Failures worth sending again: the region or the broker did not answer.
RETRIABLE = (oslo_messaging.MessagingTimeout,
             oslo_messaging.MessageDeliveryFailure)


class RegionsMissing(exception.IrraError):
    msg_fmt = ("No answer from region(s) %(missing)s to %(method)s "
               "(%(reasons)s); answers from %(answered)s only.")


class UnknownRegion(exception.IrraError):
    msg_fmt = ("Region %(region)s is not one of the regions of this "
               "client: %(regions)s.")


@dataclasses.dataclass
class FanOut:
    """The answers of several regions to one call."""

    method: str
    #: {region: answer} of the regions that answered.
    answers: dict = dataclasses.field(default_factory=dict)
    #: {region: error text} of those that did not (or raised).
    errors: dict = dataclasses.field(default_factory=dict)
    #: {region: exception} raised by the region itself (not retried).
    raised: dict = dataclasses.field(default_factory=dict)

    @property
    def answered(self):
        return sorted(self.answers)

    @property
    def missing(self):
        return sorted(self.errors)

    @property
    def complete(self):
        """Whether every region asked answered."""
        return not self.errors

    def check(self):
        """The answers, or RegionsMissing when a region did not answer."""
        if self.errors:
            raise RegionsMissing(
                missing=', '.join(self.missing), method=self.method,
                reasons='; '.join('%s: %s' % kv
                                  for kv in sorted(self.errors.items())),
                answered=', '.join(self.answered) or 'none')
        return self.answers

    def as_dict(self):
        return {'method': self.method, 'complete': self.complete,
                'answered': self.answered, 'missing': self.missing,
                'answers': self.answers, 'errors': self.errors}


class RRMClient:
    """Fan-out client of the irra-rrm of each of ``regions``.

    :param api: an :class:`~irra_openstack.rrm.rpcapi.RRMAPI`.
    :param regions: the region names.
    :param retries: times a call that got no answer is sent again.
    """

    def __init__(self, api, regions, retries=3):
        if not regions:
            raise exception.ConfigError(reason='the RRM client needs at '
                                               'least one region')
        self.api = api
        self.regions = list(dict.fromkeys(regions))
        self.retries = retries

    @classmethod
    def from_config(cls, conf, transport, regions):
        return cls(rpcapi.RRMAPI.from_config(conf, transport), regions,
                   conf.rrm.rpc_retries)

    def _check(self, region):
        if region not in self.regions:
            raise UnknownRegion(region=region,
                                regions=', '.join(self.regions))

    def _call(self, method, region, *args, **kwargs):
        attempt = 0
        while True:
            try:
                return getattr(self.api, method)(None, region, *args,
                                                 **kwargs)
            except oslo_messaging.RemoteError:
                raise
            except RETRIABLE as exc:
                if attempt >= self.retries:
                    raise
                attempt += 1
                LOG.warning('%(method)s to %(region)s: %(exc)s; sending '
                            'it again (%(n)d/%(max)d)',
                            {'method': method, 'region': region,
                             'exc': type(exc).__name__, 'n': attempt,
                             'max': self.retries})

    def fan_out(self, method, per_region):
        """Call ``method`` on each region of ``per_region`` at once.

        :param per_region: {region: (args, kwargs)}.
        :returns: a :class:`FanOut`.
        """
        result = FanOut(method)
        if not per_region:
            return result
        with futures.ThreadPoolExecutor(len(per_region)) as pool:
            calls = {pool.submit(self._call, method, region, *args,
                                 **kwargs): region
                     for region, (args, kwargs) in per_region.items()}
            for future in futures.as_completed(calls):
                region = calls[future]
                try:
                    result.answers[region] = future.result()
                except exception.IrraError as exc:
                    # Raised by the region (allowed remote exception).
                    result.raised[region] = exc
                    result.errors[region] = str(exc)
                except oslo_messaging.RemoteError as exc:
                    result.raised[region] = exc
                    result.errors[region] = '%s: %s' % (exc.exc_type,
                                                        exc.value)
                except Exception as exc:
                    result.errors[region] = '%s: %s' % (
                        type(exc).__name__, exc)
        if result.errors:
            LOG.warning('%(method)s: no answer from %(missing)s',
                        {'method': method, 'missing': result.missing})
        return result

    def _all(self, method, *args, **kwargs):
        return self.fan_out(method, {r: (args, kwargs)
                                     for r in self.regions})

    # The fan-out calls.

    def get_capacity(self):
        """Every region's capacity: a FanOut of {region: capacity}."""
        return self._all('get_capacity')

    def status(self, plan_id, keys=None):
        """Every region's view of a plan."""
        return self._all('status', plan_id, keys=keys)

    def cancel(self, plan_id, keys=None):
        """Cancel a plan's actions in every region."""
        return self._all('cancel', plan_id, keys=keys)

    def reconcile(self):
        """Reconcile every region now (API 1.1)."""
        return self._all('reconcile')

    def execute_plan(self, plan_id, actions, scope=None):
        """Send a plan's actions to the regions that run them.

        ``actions`` are action records; each names its region in
        ``reason['region']``. Every region that runs an action gets the
        whole list, so that the plan is stored whole (with the actions of
        other regions that its own may depend on) by the first region to
        answer.

        :raises UnknownRegion: an action names a region of no irra-rrm
            here.
        :returns: a :class:`FanOut` of the regions that run actions.
        """
        regions = []
        for action in actions:
            region = (action.get('reason') or {}).get('region')
            if region is None:
                raise exception.IrraError(
                    'Action %s names no region (reason.region); the engine '
                    'must say which region runs it.'
                    % action.get('idempotency_key'))
            self._check(region)
            if region not in regions:
                regions.append(region)
        return self.fan_out('execute_actions', {
            r: ((plan_id, list(actions)), {'scope': scope})
            for r in regions})

    # One region.

    def reserve(self, region, resources, expires_at, **kwargs):
        """Reserve capacity in ``region``; returns the reservation."""
        self._check(region)
        return self._call('reserve', region, resources, expires_at,
                          **kwargs)

    def release(self, region, reservation_id):
        """Release a reservation of ``region``."""
        self._check(region)
        return self._call('release', region, reservation_id)

    def plan_view(self, plan_id, keys=None):
        """The actions' states merged from every region that answered.

        Each region reads the same database, and reports the actions it
        runs itself most reliably; the view takes each action's state from
        the region that runs it when that region answered, from any other
        otherwise.

        :returns: (FanOut, {key: action status}).
        """
        fan = self.status(plan_id, keys=keys)
        merged = {}
        for region in fan.answered:
            for key, entry in fan.answers[region]['actions'].items():
                if key not in merged or entry.get('region') == region:
                    merged[key] = entry
        return fan, merged

    def wait_plan(self, plan_id, timeout, interval=2.0, sleep=time.sleep,
                  clock=time.monotonic):
        """Follow a plan until every action has ended, or ``timeout``.

        :returns: (done, FanOut of the last status, merged view). ``done``
            is True only when every region answered the last status and
            every action of the view has ended.
        """
        deadline = clock() + timeout
        while True:
            fan, view = self.plan_view(plan_id)
            done = fan.complete and bool(view) and all(
                v['state'] in constants.ActionState.FINAL
                for v in view.values())
            if done or clock() >= deadline:
                return done, fan, view
            sleep(interval)
