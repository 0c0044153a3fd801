"""Cost models: the coefficients of the region LP (``irra.cost_models``).

Three plugins, each turning operator settings into one numpy array that
the region LP (:mod:`irra_openstack.optimizer.region_lp`) uses directly:

- ``unit_price`` (:class:`UnitPriceCost`): the price of one unit of a
  resource class in a region, array (regions, classes);
- ``transfer`` (:class:`TransferCost`): the cost of serving one unit of an
  application's demand from a region other than its home region (network
  transfer, replication, latency premium), array (regions, regions,
  classes) indexed ``[serving region, home region, class]``, 0 on the
  diagonal;
- ``sla_penalty`` (:class:`SLAPenaltyCost`): the penalty of one unit of
  demand left unmet, by SLA tier, array (applications, classes).

Settings are keyed by strings so that they fit in oslo.config ``DictOpt``
values. A unit price key is ``REGION/CLASS``, where either side may be
``*``; the most specific key wins (``REGION/CLASS``, then ``REGION/*``,
then ``*/CLASS``, then the default). A transfer key is
``FROM>TO`` between two regions, symmetric unless configured otherwise.
All costs must be finite and non-negative.
"""

import abc

import numpy as np
from oslo_config import cfg

from irra_openstack import exception
from irra_openstack import plugins

#: Namespace of the cost model plugins.
NAMESPACE = 'irra.cost_models'

#: Default SLA penalty per unit of unmet demand, per tier.
DEFAULT_PENALTIES = {'gold': 100.0, 'silver': 20.0, 'bronze': 5.0}


class CostModelError(exception.IrraError):
    """A cost model setting or argument that cannot be used."""

    msg_fmt = "Invalid cost model: %(reason)s"


def _cost(what, value):
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise CostModelError(reason="%s must be a number, got %r"
                             % (what, value))
    if not np.isfinite(value) or value < 0:
        raise CostModelError(reason="%s must be finite and not negative, "
                             "got %r" % (what, value))
    return value


def _names(what, names):
    names = [str(n) for n in names]
    if len(set(names)) != len(names):
        raise CostModelError(reason="%s names are not unique: %s"
                             % (what, ', '.join(names)))
    return names


class CostModel(plugins.Plugin, metaclass=abc.ABCMeta):
    """Base of the cost model plugins (namespace ``irra.cost_models``).

    A cost model is built from explicit arguments (see each plugin), or
    from its configuration group with :meth:`from_conf`. Its one method,
    :meth:`coefficients`, returns a float array whose shape each plugin
    documents; every value is finite and non-negative.
    """

    @classmethod
    def from_conf(cls, group):
        """Build from an option group holding :meth:`get_config_opts`."""
        kwargs = {opt.dest: getattr(group, opt.dest)
                  for opt in cls.get_config_opts()}
        return cls(**kwargs)

    @abc.abstractmethod
    def coefficients(self, regions, resource_classes, tiers=None):
        """The cost coefficients for these regions and classes.

        :param regions: region names (N).
        :param resource_classes: resource class names (K).
        :param tiers: SLA tier of each application (A), for the models
            that price applications; ignored by the others.
        """


class UnitPriceCost(CostModel):
    """Price of one unit of a resource class in a region.

    :param default: price of a unit where no key matches.
    :param prices: ``{'REGION/CLASS': price}``; either side may be ``*``.
    """

    name = 'unit_price'
    description = 'Price per unit per region and resource class.'

    def __init__(self, default=1.0, prices=None):
        self.default = _cost('the default unit price', default)
        self.prices = {}
        for key, value in (prices or {}).items():
            region, sep, rc = str(key).partition('/')
            if not sep or not region or not rc:
                raise CostModelError(
                    reason="unit price key %r must be REGION/CLASS, with * "
                           "for any, e.g. RegionOne/VCPU or */MEMORY_MB"
                    % (key,))
            self.prices[(region, rc)] = _cost('the unit price of %s' % key,
                                              value)

    @classmethod
    def get_config_opts(cls):
        return [
            cfg.FloatOpt('default', default=1.0, min=0.0,
                         help='Price of one unit of a resource class in a '
                              'region when no key of "prices" matches, '
                              'in the cost models\' currency per unit and '
                              'planning period.'),
            cfg.DictOpt('prices', default={},
                        help='Unit prices as REGION/CLASS:PRICE pairs, '
                             'where REGION or CLASS may be * for any, '
                             'e.g. "RegionOne/VCPU:0.8,*/MEMORY_MB:0.01". '
                             'The most specific key wins: REGION/CLASS, '
                             'then REGION/*, then */CLASS, then the '
                             'default.'),
        ]

    def coefficients(self, regions, resource_classes, tiers=None):
        """(N, K) price of one unit of each class in each region."""
        regions = _names('region', regions)
        classes = _names('resource class', resource_classes)
        out = np.full((len(regions), len(classes)), self.default)
        r_index = {r: i for i, r in enumerate(regions)}
        c_index = {c: j for j, c in enumerate(classes)}

        def rank(key):
            region, rc = key
            return (region != '*') * 2 + (rc != '*')

        # Least specific first, so that the more specific keys overwrite.
        for (region, rc) in sorted(self.prices, key=rank):
            rows = slice(None) if region == '*' else r_index.get(region)
            cols = slice(None) if rc == '*' else c_index.get(rc)
            if rows is not None and cols is not None:
                out[rows, cols] = self.prices[(region, rc)]
        return out


class TransferCost(CostModel):
    """Cost of serving one unit of demand away from its home region.

    :param default: cost per unit between two different regions when no
        key matches.
    :param costs: ``{'FROM>TO': cost}`` between two regions.
    :param symmetric: a ``FROM>TO`` cost also applies to ``TO>FROM``
        unless that key is given too.
    :param class_factors: ``{CLASS: factor}`` multiplying the costs of a
        resource class (1 where absent).
    """

    name = 'transfer'
    description = 'Cost per unit moved between two regions.'

    def __init__(self, default=0.1, costs=None, symmetric=True,
                 class_factors=None):
        self.default = _cost('the default transfer cost', default)
        self.symmetric = bool(symmetric)
        self.costs = {}
        for key, value in (costs or {}).items():
            src, sep, dst = str(key).partition('>')
            if not sep or not src or not dst or src == dst:
                raise CostModelError(
                    reason="transfer cost key %r must be FROM>TO between "
                           "two different regions, e.g. RegionOne>RegionTwo"
                    % (key,))
            self.costs[(src, dst)] = _cost('the transfer cost %s' % key,
                                           value)
        self.class_factors = {
            str(k): _cost('the transfer factor of %s' % k, v)
            for k, v in (class_factors or {}).items()}

    @classmethod
    def get_config_opts(cls):
        return [
            cfg.FloatOpt('default', default=0.1, min=0.0,
                         help='Cost of serving one unit of an '
                              'application\'s demand from a region other '
                              'than its home region, when no key of '
                              '"costs" matches.'),
            cfg.DictOpt('costs', default={},
                        help='Transfer costs per unit as FROM>TO:COST '
                             'pairs between two regions, e.g. '
                             '"RegionOne>RegionTwo:0.05".'),
            cfg.BoolOpt('symmetric', default=True,
                        help='Whether a FROM>TO cost also applies from TO '
                             'to FROM when that pair is not given.'),
            cfg.DictOpt('class_factors', default={},
                        help='Factor per resource class applied to every '
                             'transfer cost, e.g. "MEMORY_MB:0.001" '
                             '(1 for a class not listed).'),
        ]

    def coefficients(self, regions, resource_classes, tiers=None):
        """(N, N, K): cost of serving from region i demand homed in j."""
        regions = _names('region', regions)
        classes = _names('resource class', resource_classes)
        n = len(regions)
        base = np.full((n, n), self.default)
        index = {r: i for i, r in enumerate(regions)}
        if self.symmetric:
            for (src, dst), value in self.costs.items():
                if src in index and dst in index and \
                        (dst, src) not in self.costs:
                    base[index[dst], index[src]] = value
        for (src, dst), value in self.costs.items():
            if src in index and dst in index:
                base[index[src], index[dst]] = value
        np.fill_diagonal(base, 0.0)
        factors = np.array([self.class_factors.get(c, 1.0) for c in classes])
        return base[:, :, None] * factors[None, None, :]


class SLAPenaltyCost(CostModel):
    """Penalty of one unit of unmet demand, by SLA tier.

    :param penalties: ``{tier: penalty per unit}``.
    :param class_factors: ``{CLASS: factor}`` multiplying the penalties of
        a resource class (1 where absent).

    An application whose tier has no penalty is an error, never a silent
    zero: a zero penalty would make the LP drop its demand for free.
    """

    name = 'sla_penalty'
    description = 'Penalty per unit of unmet demand, by SLA tier.'

    def __init__(self, penalties=None, class_factors=None):
        if penalties is None:
            penalties = DEFAULT_PENALTIES
        if not penalties:
            raise CostModelError(reason="no SLA tier has a penalty; set "
                                 "penalties, e.g. gold:100,silver:20")
        self.penalties = {str(k): _cost('the penalty of tier %s' % k, v)
                          for k, v in penalties.items()}
        self.class_factors = {
            str(k): _cost('the penalty factor of %s' % k, v)
            for k, v in (class_factors or {}).items()}

    @classmethod
    def get_config_opts(cls):
        return [
            cfg.DictOpt('penalties',
                        default={k: str(v)
                                 for k, v in DEFAULT_PENALTIES.items()},
                        help='Penalty per unit of unmet demand, per SLA '
                             'tier, as TIER:PENALTY pairs. When demand '
                             'exceeds capacity the tiers with the higher '
                             'penalty are served first; for a strict '
                             'order, make the gaps between tiers larger '
                             'than the spread of unit prices plus transfer '
                             'costs.'),
            cfg.DictOpt('class_factors', default={},
                        help='Factor per resource class applied to every '
                             'penalty, e.g. "MEMORY_MB:0.001" (1 for a '
                             'class not listed).'),
        ]

    def tier_penalty(self, tier):
        """Penalty per unit of ``tier`` (before class factors)."""
        try:
            return self.penalties[str(tier)]
        except KeyError:
            raise CostModelError(
                reason="SLA tier '%s' has no penalty; the tiers with one "
                       "are %s" % (tier, ', '.join(sorted(self.penalties))))

    def coefficients(self, regions, resource_classes, tiers=None):
        """(A, K) penalty per unit of unmet demand of each application."""
        classes = _names('resource class', resource_classes)
        if tiers is None:
            raise CostModelError(reason="the SLA penalty needs the tier of "
                                 "each application")
        tiers = np.asarray(tiers, dtype=object).reshape(-1)
        unique, inverse = np.unique(tiers.astype(str), return_inverse=True)
        per_tier = np.array([self.tier_penalty(t) for t in unique])
        factors = np.array([self.class_factors.get(c, 1.0) for c in classes])
        return per_tier[inverse][:, None] * factors[None, :]
