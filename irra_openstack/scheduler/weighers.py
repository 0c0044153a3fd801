"""PredictiveHeadroomWeigher: a Nova host weigher on irra's predicted headroom.

Enable it in nova.conf (see doc/source/admin/scheduler.rst; there, the
option is on one line, without spaces)::

    [filter_scheduler]
    weight_classes = nova.scheduler.weights.all_weighers,
        irra_openstack.scheduler.weighers.PredictiveHeadroomWeigher

How resource classes combine: the weight of a host is its *margin*, the
share of capacity that would stay free below the utilisation limit, after
the request, on its tightest resource class (``min over r of limit[r] -
need[r] / capacity[r]``, see :mod:`.headroom`), at least -1. The tightest
resource class decides because it is the one that overloads first. Nova then
normalises the weights of the request's hosts to [0, 1] and multiplies them
by [irra_scheduler] weight_multiplier, or by the aggregate metadata
``irra_headroom_weight_multiplier``: positive spreads to the most headroom,
negative packs, like Nova's RAMWeigher.

When the snapshot is unusable every host weighs 0, so this weigher does not
change Nova's order.
"""

from nova import conf as nova_conf
from nova.scheduler import weights
from oslo_log import log as logging

from irra_openstack.conf import scheduler as scheduler_conf
from irra_openstack.scheduler import headroom
from irra_openstack.scheduler import snapshot as snapshot_mod

LOG = logging.getLogger(__name__)
CONF = nova_conf.CONF
scheduler_conf.register_opts(CONF)

#: Lowest weight: a host far beyond its limit does not stretch the scale.
MIN_WEIGHT = -1.0


class PredictiveHeadroomWeigher(weights.BaseHostWeigher):
    """More predicted headroom weighs more."""

    def __init__(self):
        super().__init__()
        self.loader = snapshot_mod.get_loader(CONF)
        self.loader.get()
        self._multiplier = None

    def weight_multiplier(self, host_state):
        """[irra_scheduler] weight_multiplier, or the aggregate's."""
        multiplier = self._multiplier
        if multiplier is None:
            multiplier = CONF.irra_scheduler.weight_multiplier
        if host_state.aggregates:
            value = headroom.aggregate_value(
                host_state, scheduler_conf.AGGREGATE_MULTIPLIER_KEY)
            if value is not None:
                return value
        return multiplier

    def _request(self, spec_obj):
        snapshot, reason = self.loader.usable()
        if snapshot is None:
            return None
        return headroom.RequestHeadroom(snapshot, spec_obj,
                                        CONF.irra_scheduler)

    def weigh_objects(self, weighed_obj_list, weight_properties):
        """The weights; the request is evaluated once, not per host."""
        group = CONF.irra_scheduler
        self._multiplier = group.weight_multiplier
        request = self._request(weight_properties)
        if request is None:
            return [0.0] * len(weighed_obj_list)
        weights_ = []
        unknown = []
        known_sum = 0.0
        for n, weighed in enumerate(weighed_obj_list):
            host_state = weighed.obj
            host = request.host(host_state)
            if host is None:
                unknown.append(n)
                weights_.append(0.0)
                continue
            margin, _ = request.margin(host, host_state)
            if margin < MIN_WEIGHT:
                margin = MIN_WEIGHT
            known_sum += margin
            weights_.append(margin)
        if unknown and group.unknown_host_policy == 'neutral':
            known = len(weights_) - len(unknown)
            neutral = known_sum / known if known else 0.0
            for n in unknown:
                weights_[n] = neutral
        return weights_

    def _weigh_object(self, host_state, weight_properties):
        """The weight of one host (Nova calls weigh_objects instead)."""
        request = self._request(weight_properties)
        if request is None:
            return 0.0
        host = request.host(host_state)
        if host is None:
            return 0.0
        return max(MIN_WEIGHT, request.margin(host, host_state)[0])
