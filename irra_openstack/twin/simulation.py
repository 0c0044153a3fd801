"""A discrete-event simulation of an M/M/c queue, first come first served.

Used to validate the digital twin against a real queue whose parameters
are known (no public trace has application metrics). Customers arrive in a
Poisson process of rate :math:`\\lambda` and each needs an exponential
service time of mean :math:`1/\\mu`; each starts service, in arrival order,
on the server that becomes free first:

.. math:: S_i = \\max(A_i, F_{(1)}), \\qquad W_i = S_i - A_i

where :math:`F_{(1)}` is the earliest time a server is free (kept in a
heap). The events are sequential by nature, so this is a loop over
customers; it is test and validation tooling, not part of a planning cycle.
"""

import dataclasses
import heapq

import numpy as np


@dataclasses.dataclass(frozen=True)
class SimulationResult:
    """Measured figures of one simulated run (after the warm-up)."""

    arrival_rate: float
    service_rate: float
    servers: int
    customers: int
    mean_wait: float
    mean_response: float
    p_wait: float
    mean_queue_length: float
    utilisation: float


def simulate_mmc(arrival_rate, service_rate, servers, customers, rng,
                 warmup=0.1):
    """Simulate ``customers`` arrivals at an M/M/c queue.

    :param rng: a ``numpy.random.Generator`` (seeded by the caller).
    :param warmup: share of the first customers left out of the figures
        (the queue starts empty).
    :returns: a :class:`SimulationResult`. The queue length is the
        time average :math:`L_q = \\hat\\lambda \\bar W` (Little's law with
        the measured arrival rate).
    """
    servers = int(servers)
    arrivals = np.cumsum(rng.exponential(1.0 / arrival_rate, customers))
    services = rng.exponential(1.0 / service_rate, customers)
    free = [0.0] * servers
    starts = np.empty(customers)
    for i, (arrive, service) in enumerate(zip(arrivals.tolist(),
                                              services.tolist())):
        begin = arrive if arrive > free[0] else free[0]
        heapq.heapreplace(free, begin + service)
        starts[i] = begin
    first = int(customers * warmup)
    wait = (starts - arrivals)[first:]
    span = arrivals[-1] - arrivals[first]
    rate = (customers - first - 1) / span if span > 0 else arrival_rate
    return SimulationResult(
        arrival_rate=float(arrival_rate), service_rate=float(service_rate),
        servers=servers, customers=int(customers - first),
        mean_wait=float(wait.mean()),
        mean_response=float(wait.mean() + services[first:].mean()),
        p_wait=float((wait > 0).mean()),
        mean_queue_length=float(rate * wait.mean()),
        utilisation=float(services[first:].sum() / (servers * span))
        if span > 0 else float('nan'))
