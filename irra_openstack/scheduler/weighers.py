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

from irra_openstack.scheduler import headroom
from irra_openstack.scheduler import snapshot as snapshot_mod

LOG = logging.getLogger(__name__)
CONF = nova_conf.CONF
headroom.scheduler_conf.register_opts(CONF)

_MISSING = object()

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
                host_state, headroom.scheduler_conf.AGGREGATE_MULTIPLIER_KEY)
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
        host_states = [weighed.obj for weighed in weighed_obj_list]
        known = headroom.shared_margins(weight_properties,
                                        request.snapshot.generation)
        if known is not None:
            margins = [known.get(id(h), _MISSING) for h in host_states]
            if _MISSING in margins:
                margins = request.margins(host_states)
        else:
            margins = request.margins(host_states)
        lowest = MIN_WEIGHT
        weights_ = [m if m is None or m >= lowest else lowest
                    for m in margins]
        if None in weights_:
            neutral = 0.0
            if group.unknown_host_policy == 'neutral':
                values = [w for w in weights_ if w is not None]
                if values:
                    neutral = sum(values) / len(values)
            weights_ = [neutral if w is None else w for w in weights_]
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
