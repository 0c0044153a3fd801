"""PredictiveHeadroomFilter: a Nova host filter on irra's predicted headroom.

Enable it in nova.conf (see doc/source/admin/scheduler.rst; there, each
option is on one line)::

    [filter_scheduler]
    available_filters = nova.scheduler.filters.all_filters
    available_filters = \
        irra_openstack.scheduler.filters.PredictiveHeadroomFilter
    enabled_filters = ...,PredictiveHeadroomFilter

A host passes when, for every resource class, its predicted upper-bound
usage over the horizon plus the request stays within capacity x
[irra_scheduler] max_predicted_utilisation (:mod:`.headroom` has the
arithmetic). When irra has nothing usable to say (no snapshot, unreadable,
too old, from the future), every host passes: Nova keeps scheduling whatever
happens to irra.
"""

import itertools

from nova import conf as nova_conf
from nova.scheduler import filters
from nova.scheduler import utils as scheduler_utils
import numpy as np
from oslo_log import log as logging

from irra_openstack.scheduler import headroom
from irra_openstack.scheduler import snapshot as snapshot_mod

LOG = logging.getLogger(__name__)
CONF = nova_conf.CONF
headroom.scheduler_conf.register_opts(CONF)


class PredictiveHeadroomFilter(filters.BaseHostFilter):
    """Reject hosts whose predicted usage plus the request is too high."""

    # Run for every instance of a multi-create request: the host states
    # carry what the earlier instances consumed, and the filter counts it
    # (as usage placed since the snapshot, see headroom), so that the
    # instances spread instead of all going where one fits.
    run_filter_once_per_request = False

    # A rebuild keeps the instance on its host with its flavor: its usage is
    # already in the host's prediction, counting it again would reject the
    # host it is on. Like Nova's usage filters, this one does not run.
    RUN_ON_REBUILD = False

    def __init__(self):
        super().__init__()
        self.loader = snapshot_mod.get_loader(CONF)
        # Start reading the snapshot now, at nova-scheduler start, rather
        # than at the first request.
        self.loader.get()

    def _request(self, spec_obj):
        """A RequestHeadroom, or None to fail open."""
        snapshot, reason = self.loader.usable()
        if snapshot is None:
            return None
        return headroom.RequestHeadroom(snapshot, spec_obj,
                                        CONF.irra_scheduler)

    def filter_all(self, filter_obj_list, spec_obj):
        """The hosts that pass; the request is evaluated once, not per host.

        Nova's BaseFilter.filter_all calls _filter_one per host; this does
        the same work with what does not depend on the host computed once.
        """
        if not self.RUN_ON_REBUILD and \
                scheduler_utils.request_is_rebuild(spec_obj):
            headroom.forget_margins(spec_obj)
            return list(filter_obj_list)
        request = self._request(spec_obj)
        if request is None:
            headroom.forget_margins(spec_obj)
            return list(filter_obj_list)
        return self._filter(request, filter_obj_list, spec_obj)

    def _filter(self, request, host_states, spec_obj=None):
        host_states = list(host_states)
        margins, multipliers = request.evaluate(host_states)
        # NaN (a host the snapshot lacks) passes: not (NaN < 0).
        keep = ~(margins < 0.0)
        passed = list(itertools.compress(host_states, keep.tolist()))
        if spec_obj is not None:
            headroom.share_margins(
                spec_obj, request, passed, margins[keep],
                None if multipliers is None else multipliers[keep])
        if request.debug:
            for host_state, margin in zip(host_states, margins.tolist()):
                if margin < 0.0:
                    host = request.host(host_state)
                    _, worst = request.margin(host, host_state)
                    LOG.debug('PredictiveHeadroomFilter rejects %(host)s: '
                              '%(why)s', {'host': host_state.nodename,
                                          'why': request.explain(
                                              host, host_state, worst)})
            LOG.debug('PredictiveHeadroomFilter: %(out)d host(s) rejected, '
                      '%(in)d passed, %(unknown)d not in snapshot %(gen)d',
                      {'out': len(host_states) - len(passed),
                       'in': len(passed),
                       'unknown': int(np.isnan(margins).sum()),
                       'gen': request.snapshot.generation})
        return passed

    def host_passes(self, host_state, spec_obj):
        """Whether one host passes (Nova calls filter_all instead)."""
        request = self._request(spec_obj)
        if request is None:
            return True
        return bool(self._filter(request, [host_state]))
