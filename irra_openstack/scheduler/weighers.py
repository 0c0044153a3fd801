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
import numpy as np
from oslo_log import log as logging

from irra_openstack.scheduler import headroom
from irra_openstack.scheduler import snapshot as snapshot_mod

LOG = logging.getLogger(__name__)
CONF = nova_conf.CONF
headroom.scheduler_conf.register_opts(CONF)


#: Lowest weight: a host far beyond its limit does not stretch the scale.
MIN_WEIGHT = -1.0


class PredictiveHeadroomWeigher(weights.BaseHostWeigher):
    """More predicted headroom weighs more."""

    def __init__(self):
        super().__init__()
        self.loader = snapshot_mod.get_loader(CONF)
        self.loader.get()
        # (hosts, {id(host): multiplier}) of the last weigh_objects call:
        # Nova asks weight_multiplier for each host right after it. The
        # hosts are kept so that an id in the table is that of a live
        # host; a host not in the table is looked at the slow way. One
        # tuple, replaced whole, so concurrent requests only miss.
        self._multipliers = ((), {})

    def weight_multiplier(self, host_state):
        """[irra_scheduler] weight_multiplier, or the aggregate's."""
        value = self._multipliers[1].get(id(host_state))
        if value is None:
            value = CONF.irra_scheduler.weight_multiplier
            if host_state.aggregates:
                override = headroom.aggregate_value(
                    host_state,
                    headroom.scheduler_conf.AGGREGATE_MULTIPLIER_KEY)
                if override is not None:
                    value = override
        return value

    def _remember_multipliers(self, host_states, multiplier, override):
        """The multiplier of every host, for weight_multiplier.

        :param override: per host, its aggregates' multiplier or NaN, or
            None when none sets one.
        """
        ids = [id(h) for h in host_states]
        if override is None:
            table = dict.fromkeys(ids, multiplier)
        else:
            table = dict(zip(ids, np.where(
                np.isnan(override), multiplier, override).tolist()))
        self._multipliers = (host_states, table)

    def weigh_objects(self, weighed_obj_list, weight_properties):
        """The weights; the request is evaluated once, not per host."""
        group = CONF.irra_scheduler
        multiplier = group.weight_multiplier
        host_states = [weighed.obj for weighed in weighed_obj_list]
        snapshot, reason = self.loader.usable()
        if snapshot is None:
            headroom.forget_margins(weight_properties)
            override, = headroom.aggregate_values(
                [h.aggregates for h in host_states],
                (headroom.scheduler_conf.AGGREGATE_MULTIPLIER_KEY,))
            self._remember_multipliers(host_states, multiplier, override)
            return [0.0] * len(host_states)
        shared = headroom.shared_margins(weight_properties, snapshot)
        if shared is not None and shared[1] == host_states:
            # The hosts the filter passed, in the same order (the list
            # comparison is by identity): its margins are theirs.
            margins, override = shared[2], shared[3]
        else:
            request = shared[0] if shared is not None else \
                headroom.RequestHeadroom(snapshot, weight_properties, group)
            margins, override = request.evaluate(host_states)
        self._remember_multipliers(host_states, multiplier, override)
        return self._weights(margins, group.unknown_host_policy)

    @staticmethod
    def _weights(margins, policy):
        """Margins to weights: at least MIN_WEIGHT, unknown hosts by policy.

        :returns: a list of floats.
        """
        # NaN (a host the snapshot lacks) stays NaN.
        weights_ = np.maximum(margins, MIN_WEIGHT)
        unknown = np.isnan(weights_)
        if unknown.any():
            neutral = 0.0
            if policy == 'neutral' and not unknown.all():
                values = weights_[~unknown].tolist()
                neutral = sum(values) / len(values)
            weights_[unknown] = neutral
        return weights_.tolist()

    def _weigh_object(self, host_state, weight_properties):
        """The weight of one host (Nova calls weigh_objects instead)."""
        snapshot, reason = self.loader.usable()
        if snapshot is None:
            return 0.0
        request = headroom.RequestHeadroom(snapshot, weight_properties,
                                           CONF.irra_scheduler)
        return self._weights(request.margins([host_state]), 'pass')[0]
