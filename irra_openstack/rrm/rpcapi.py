"""Client side of the irra-rrm RPC API, in the style of Nova's rpcapi.

Each irra-rrm listens on the topic ``irra-rrm`` with its region name as
server name; :class:`RRMAPI` sends to one region at a time (the engine's
fan-out over every region is :class:`irra_openstack.rrm.client.RRMClient`).

API version history:

* 1.0 - Initial version: get_capacity, reserve, release, execute_actions,
  cancel, status.
* 1.1 - status() takes ``keys``, to ask about some actions only;
  reconcile() runs a reconciliation of the region at once.

The client never sends a version above its cap, ``[rrm] rpc_version_cap``
(the newest, :data:`LATEST`, when unset): during a rolling upgrade, set it
to the version of the oldest irra-rrm still running. A method that needs a
newer version than the cap either falls back (status() filters the
answer itself) or raises :class:`RPCVersionTooOld`.
"""

from oslo_log import log as logging
import oslo_messaging

from irra_openstack import exception

LOG = logging.getLogger(__name__)

TOPIC = 'irra-rrm'
#: The newest version of the API that this code speaks.
LATEST = '1.1'
#: Every version, oldest first.
VERSIONS = ('1.0', '1.1')
#: Release names that may be given as [rrm] rpc_version_cap.
VERSION_ALIASES = {}


class RPCVersionTooOld(exception.IrraError):
    msg_fmt = ("%(method)s needs version %(needed)s of the irra-rrm RPC "
               "API, but [rrm] rpc_version_cap is %(cap)s; raise the cap "
               "once every irra-rrm runs version %(needed)s or newer.")


class InvalidVersionCap(exception.IrraError):
    msg_fmt = ("[rrm] rpc_version_cap %(cap)s is not a version of the "
               "irra-rrm RPC API; the versions are %(versions)s.")


def _context(ctxt):
    """The request context as the dict that goes on the wire."""
    if ctxt is None:
        return {}
    if hasattr(ctxt, 'to_dict'):
        return ctxt.to_dict()
    return dict(ctxt)


class RRMAPI:
    """Client of the irra-rrm RPC API of one region at a time.

    :param transport: an oslo.messaging RPC transport.
    :param version_cap: the highest version to send; None is
        :data:`LATEST`.
    :param timeout: seconds a call waits for its answer.
    """

    def __init__(self, transport, version_cap=None, timeout=30):
        cap = VERSION_ALIASES.get(version_cap, version_cap) or LATEST
        if cap not in VERSIONS:
            raise InvalidVersionCap(cap=cap, versions=', '.join(VERSIONS))
        self.version_cap = cap
        self.timeout = timeout
        target = oslo_messaging.Target(topic=TOPIC, version='1.0')
        self.client = oslo_messaging.get_rpc_client(
            transport, target, version_cap=cap, timeout=timeout)

    @classmethod
    def from_config(cls, conf, transport):
        return cls(transport, conf.rrm.rpc_version_cap, conf.rrm.rpc_timeout)

    def can_send_version(self, version):
        """Whether ``version`` is within the cap."""
        return self.client.can_send_version(version)

    def _prepare(self, region, version, timeout=None):
        return self.client.prepare(server=region, version=version,
                                   timeout=timeout or self.timeout)

    def get_capacity(self, ctxt, region):
        """Capacity, usage and reservations of ``region``, by class."""
        cctxt = self._prepare(region, '1.0')
        return cctxt.call(_context(ctxt), 'get_capacity')

    def reserve(self, ctxt, region, resources, expires_at, providers=None,
                hosts=None, key=None, project_id=None):
        """Reserve ``resources`` in ``region``'s Placement.

        :returns: the reservation, a dict.
        """
        cctxt = self._prepare(region, '1.0')
        return cctxt.call(_context(ctxt), 'reserve', resources=resources,
                          expires_at=expires_at, providers=providers,
                          hosts=hosts, key=key, project_id=project_id)

    def release(self, ctxt, region, reservation_id):
        """Release a reservation of ``region``; returns it."""
        cctxt = self._prepare(region, '1.0')
        return cctxt.call(_context(ctxt), 'release',
                          reservation_id=reservation_id)

    def execute_actions(self, ctxt, region, plan_id, actions, scope=None):
        """Hand ``region`` the actions of a plan to run.

        ``actions`` are action records (:meth:`PlannedAction.as_record`),
        each with its idempotency key and, in its reason, its wave,
        dependencies and region. The region stores those it does not know
        and starts running its own; the call returns once they are stored,
        with ``{"plan": plan dict, "accepted": n, "created": n}``.
        Sending the same actions again changes nothing.
        """
        cctxt = self._prepare(region, '1.0')
        return cctxt.call(_context(ctxt), 'execute_actions',
                          plan_id=plan_id, actions=actions, scope=scope)

    def cancel(self, ctxt, region, plan_id, keys=None):
        """Cancel ``region``'s actions of a plan; returns {key: state}."""
        cctxt = self._prepare(region, '1.0')
        return cctxt.call(_context(ctxt), 'cancel', plan_id=plan_id,
                          keys=keys)

    def status(self, ctxt, region, plan_id, keys=None):
        """The plan's state and its actions' states, as ``region`` sees.

        ``{"plan": {...}, "actions": {key: {"state", "attempts", "error",
        "destination", "region"}}}``. With ``keys``, only those actions:
        asked of the server from version 1.1, filtered here before.
        """
        if keys is not None and self.can_send_version('1.1'):
            cctxt = self._prepare(region, '1.1')
            return cctxt.call(_context(ctxt), 'status', plan_id=plan_id,
                              keys=list(keys))
        cctxt = self._prepare(region, '1.0')
        answer = cctxt.call(_context(ctxt), 'status', plan_id=plan_id)
        if keys is not None:
            wanted = set(keys)
            answer['actions'] = {k: v for k, v in answer['actions'].items()
                                 if k in wanted}
        return answer

    def reconcile(self, ctxt, region):
        """Reconcile ``region``'s ONGOING actions now (version 1.1).

        :raises RPCVersionTooOld: the cap is below 1.1.
        """
        if not self.can_send_version('1.1'):
            raise RPCVersionTooOld(method='reconcile', needed='1.1',
                                   cap=self.version_cap)
        cctxt = self._prepare(region, '1.1')
        return cctxt.call(_context(ctxt), 'reconcile')
