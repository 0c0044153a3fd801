"""The inter-region marketplace, cleared at the region LP's dual prices.

Orders
------
Each region posts, per resource class:

- an *offer*: its spare capacity (what its own applications leave unused
  when every region keeps to itself) at an *ask* equal to its marginal
  cost, the unit price of the ``unit_price`` cost model;
- *bids*: its predicted shortfall when it keeps to itself, one bid per
  SLA penalty level, at a bid price equal to that penalty.

Clearing
--------
The region LP (:mod:`irra_openstack.optimizer.region_lp`) with trade
allowed gives the allocation; every unit of an application served outside
its home region is a unit its home region (the buyer) buys from the
serving region (the seller). The trades are these inter-region flows,
summed per (buyer, seller, class); their price is the seller's capacity
price from the LP duals, ``pi[s] = unit_price[s] + lambda[s]`` with
``lambda[s] >= 0`` the scarcity rent of its capacity. The buyer pays
``pi[s]`` per unit to the seller and bears the transfer cost.

Why it has the properties the tests check
-----------------------------------------
- *Budget balance*: buyer and seller of a trade use the same price, so
  what is paid equals what is received, trade by trade; nothing is
  subsidised by a market maker.
- *Individual rationality*: a seller gets ``pi[s] >= unit_price[s]``, its
  ask, because ``lambda[s] >= 0``. Where an app's flow is above its
  minimum share, LP complementary slackness gives ``pi[s] +
  transfer[s, home] = mu[a] <= penalty[a]``: the buyer pays at most its
  bid. (A flow forced by a minimum share in a foreign region is a policy
  commitment, not a voluntary trade: such trades are flagged ``forced``.)
- *Consistency with the LP*: the traded quantities are the LP's flows.
  Each region's cost is what it pays for capacity it uses at home, for
  transfers and penalties of its apps, plus its purchases minus its sales;
  by budget balance these sum to the LP's optimum, so the regions'
  surpluses (no-trade cost minus cost with trade) add up to the LP's
  saving over the no-trade allocation. Because each region's outcome is
  its best response to the prices, no region loses from trading (when no
  minimum share is forced on it abroad).
"""

import dataclasses

import numpy as np

from irra_openstack.optimizer import region_lp

EPS = region_lp.EPS


@dataclasses.dataclass
class Order:
    """An offer (``side`` 'sell') or a bid ('buy') of one region."""

    region: str
    resource_class: str
    side: str
    quantity: float
    price: float

    def as_record(self):
        """The values of a :class:`~irra_openstack.db.models.MarketOrder`."""
        return {'region': self.region,
                'resource_class': self.resource_class, 'side': self.side,
                'quantity': float(self.quantity),
                'price': float(self.price)}


@dataclasses.dataclass
class Trade:
    """Capacity a buyer region gets from a seller region.

    ``price`` is what the buyer pays the seller per unit; ``ask`` is the
    seller's marginal cost, ``bid`` the lowest SLA penalty among the
    buyer's applications that chose this trade (served above their
    minimum share), ``transfer`` the transfer
    cost per unit the buyer also bears, ``forced`` the part of the
    quantity that minimum shares imposed.
    """

    buyer_region: str
    seller_region: str
    resource_class: str
    quantity: float
    price: float
    ask: float
    bid: float
    transfer: float
    forced: float = 0.0

    @property
    def paid(self):
        """What the buyer pays the seller."""
        return self.quantity * self.price

    @property
    def received(self):
        """What the seller receives."""
        return self.quantity * self.price

    def as_record(self):
        """The values of a :class:`~irra_openstack.db.models.MarketTrade`."""
        return {'buyer_region': self.buyer_region,
                'seller_region': self.seller_region,
                'resource_class': self.resource_class,
                'quantity': float(self.quantity),
                'price': float(self.price)}


@dataclasses.dataclass
class Clearing:
    """The result of one market round."""

    trades: list
    offers: list
    bids: list
    #: (N, K) clearing price of each region's capacity.
    prices: np.ndarray
    #: (N, N, K) LP flows: units of class k homed in region b served in s,
    #: indexed [b, s, k], zero diagonal.
    flows: np.ndarray
    #: (N,) cost of each region with trade, and without.
    region_cost: np.ndarray
    region_cost_no_trade: np.ndarray
    #: LP optimum with and without trade.
    cost: float
    cost_no_trade: float
    solution: object = None
    no_trade_solution: object = None

    @property
    def surplus(self):
        """(N,) what each region gains by trading."""
        return self.region_cost_no_trade - self.region_cost

    @property
    def saving(self):
        """What trade saves over every region keeping to itself."""
        return self.cost_no_trade - self.cost


def _region_costs(sol, prices=None, flows=None):
    """(N,) cost of each region in ``sol``, with its trades' payments.

    A region pays the unit price of all capacity used in it (its own apps
    and the units it sells), the transfer costs and penalties of its own
    apps, the price of what it buys, and receives the price of what it
    sells.
    """
    p = sol.problem
    n = len(p.regions)
    used = sol.allocation.sum(axis=0)                        # (N, K)
    cost = (used * sol.unit_price).sum(axis=1)
    per_app = (np.einsum('ank,ank->a', sol.allocation,
                         sol.transfer[:, p.home, :].transpose(1, 0, 2)) +
               (sol.shortfall * sol.penalty).sum(axis=1))
    cost = cost + np.bincount(p.home, per_app, minlength=n)
    if flows is not None:
        value = flows * prices[None, :, :]                   # [b, s, k]
        cost = cost + value.sum(axis=(1, 2)) - value.sum(axis=(0, 2))
    return cost


def region_flows(sol):
    """(N, N, K) units homed in region b served in region s, [b, s, k]."""
    p = sol.problem
    n, k = len(p.regions), len(p.resource_classes)
    flows = np.zeros((n, n, k))
    np.add.at(flows, p.home, sol.allocation)
    flows[np.arange(n), np.arange(n)] = 0.0
    return flows


def clear(solution, no_trade_solution):
    """Clear the market of ``solution`` (the LP with trade).

    :param solution: :class:`~irra_openstack.optimizer.region_lp.
        RegionSolution` of the problem.
    :param no_trade_solution: the solution of ``problem.no_trade()``.
    :returns: a :class:`Clearing`.
    """
    sol, base = solution, no_trade_solution
    p = sol.problem
    n, k = len(p.regions), len(p.resource_classes)
    prices = sol.capacity_price
    flows = region_flows(sol)
    forced = np.zeros((n, n, k))
    np.add.at(forced, p.home, sol.lower)
    forced[np.arange(n), np.arange(n)] = 0.0
    # Bid of each flow: the lowest penalty among the apps that chose it
    # (served above their minimum share); for a wholly forced flow, among
    # the apps in it.
    bid = np.full((n, n, k), np.inf)
    ai, si, kj = np.nonzero(sol.allocation - sol.lower > EPS)
    np.minimum.at(bid, (p.home[ai], si, kj), sol.penalty[ai, kj])
    ai, si, kj = np.nonzero(sol.allocation > EPS)
    only_forced = np.full((n, n, k), np.inf)
    np.minimum.at(only_forced, (p.home[ai], si, kj), sol.penalty[ai, kj])
    bid = np.where(np.isfinite(bid), bid, only_forced)
    trades = []
    for b, s, j in zip(*np.nonzero(flows > EPS)):
        trades.append(Trade(
            buyer_region=p.regions[b], seller_region=p.regions[s],
            resource_class=p.resource_classes[j],
            quantity=float(flows[b, s, j]), price=float(prices[s, j]),
            ask=float(sol.unit_price[s, j]), bid=float(bid[b, s, j]),
            transfer=float(sol.transfer[s, b, j]),
            forced=float(min(forced[b, s, j], flows[b, s, j]))))
    offers, bids = _orders(base)
    return Clearing(
        trades=trades, offers=offers, bids=bids, prices=prices,
        flows=flows, region_cost=_region_costs(sol, prices, flows),
        region_cost_no_trade=_region_costs(base), cost=sol.objective,
        cost_no_trade=base.objective, solution=sol,
        no_trade_solution=base)


def _orders(base):
    """Offers and bids from the no-trade solution ``base``."""
    p = base.problem
    n, k = len(p.regions), len(p.resource_classes)
    spare = p.capacity - base.allocation.sum(axis=0)
    offers = [Order(p.regions[r], p.resource_classes[j], 'sell',
                    float(spare[r, j]), float(base.unit_price[r, j]))
              for r, j in zip(*np.nonzero(spare > EPS))]
    bids = []
    ai, kj = np.nonzero(base.shortfall > EPS)
    if ai.size:
        levels, inv = np.unique(base.penalty[ai, kj], return_inverse=True)
        qty = np.zeros((n, k, levels.size))
        np.add.at(qty, (p.home[ai], kj, inv.reshape(-1)),
                  base.shortfall[ai, kj])
        for r, j, lv in zip(*np.nonzero(qty > EPS)):
            bids.append(Order(p.regions[r], p.resource_classes[j], 'buy',
                              float(qty[r, j, lv]), float(levels[lv])))
    return offers, bids


def check(clearing, tolerance=1e-6):
    """The market properties, each True or False, for reports and tests.

    ``budget_balanced``: paid == received per trade and in total;
    ``buyers_rational``: no voluntary trade costs its buyer more than its
    bid; ``sellers_rational``: no seller gets less than its ask;
    ``flows_match``: trades equal the LP's inter-region flows;
    ``surplus_matches``: the regions' surpluses add up to the LP's saving.
    """
    trades = clearing.trades
    scale = max(1.0, abs(clearing.cost), abs(clearing.cost_no_trade))
    paid = sum(t.paid for t in trades)
    received = sum(t.received for t in trades)
    traded = np.zeros_like(clearing.flows)
    sol = clearing.solution
    regions = {r: i for i, r in enumerate(sol.problem.regions)}
    classes = {c: j for j, c in enumerate(sol.problem.resource_classes)}
    for t in trades:
        traded[regions[t.buyer_region], regions[t.seller_region],
               classes[t.resource_class]] += t.quantity
    return {
        'budget_balanced': bool(
            all(abs(t.paid - t.received) <= tolerance * max(1, t.paid)
                for t in trades) and
            abs(paid - received) <= tolerance * max(1.0, paid)),
        'buyers_rational': bool(all(
            t.price + t.transfer <= t.bid + tolerance * max(1.0, t.bid)
            for t in trades if t.forced < t.quantity - EPS)),
        'sellers_rational': bool(all(
            t.price >= t.ask - tolerance * max(1.0, t.ask)
            for t in trades)),
        'flows_match': bool(np.allclose(traded, clearing.flows,
                                        rtol=tolerance, atol=tolerance)),
        'surplus_matches': bool(
            abs(clearing.surplus.sum() - clearing.saving) <=
            tolerance * scale),
    }


class Marketplace(object):
    """Runs market rounds with a region LP optimizer.

    :param optimizer: a
        :class:`~irra_openstack.optimizer.region_lp.RegionLPOptimizer`.
    :param notifier: an :class:`irra_openstack.notifications.Notifier`;
        when given, :meth:`record` sends ``irra.market.trade`` for each
        trade it stored.
    """

    def __init__(self, optimizer, notifier=None):
        self.optimizer = optimizer
        self.notifier = notifier

    def run(self, problem, solution=None):
        """Solve ``problem`` with and without trade and clear the market.

        :param solution: the optimizer's solution of ``problem`` when the
            caller has it already.
        """
        if solution is None:
            solution = self.optimizer.solve(problem)
        base = self.optimizer.solve(problem.no_trade())
        return clear(solution, base)

    def record(self, clearing, plan_uuid=None, context=None):
        """Write the round to the ledger: its offers, bids and trades.

        :returns: ``{'round_uuid': .., 'orders': [..], 'trades': [..]}``
            as stored (dicts).
        """
        from irra_openstack.db import market_api

        stored = market_api.round_create(
            [o.as_record() for o in clearing.offers + clearing.bids],
            [t.as_record() for t in clearing.trades], plan_uuid=plan_uuid,
            context=context)
        if self.notifier is not None:
            for trade in stored['trades']:
                self.notifier.trade(context, trade)
        return stored
