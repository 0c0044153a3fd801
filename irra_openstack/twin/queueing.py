"""M/M/c queueing formulas, vectorised, for a real number of servers.

With Poisson arrivals at rate :math:`\\lambda`, exponential service at rate
:math:`\\mu` per server and :math:`c` servers, the offered load is
:math:`a = \\lambda / \\mu` and the utilisation :math:`\\rho = a / c`. The
queue is stable only for :math:`\\rho < 1`; at :math:`\\rho \\ge 1` the
queue grows without bound, and every function here returns ``inf`` (or a
waiting probability of 1), never a finite number.

Erlang B, extended to real :math:`c` through the incomplete gamma function
(for whole :math:`c` it is the usual sum):

.. math:: B(c, a) = \\frac{a^c e^{-a}}{\\Gamma(c + 1, a)}
                  = \\frac{a^c / c!}{\\sum_{k=0}^{c} a^k / k!}

Erlang C, the probability that an arrival waits:

.. math:: C(c, a) = \\frac{B}{1 - \\rho (1 - B)}

and then the mean wait in queue, response time, queue length and the tail
of the wait:

.. math::

    W_q = \\frac{C}{c\\mu - \\lambda}, \\quad W = W_q + \\frac{1}{\\mu},
    \\quad L_q = \\lambda W_q, \\quad
    P(W_q > t) = C e^{-(c\\mu - \\lambda) t}

The real-:math:`c` extension lets a twin estimate an *effective* number of
servers (capacity in vCPUs times an efficiency) by least squares.
"""

import numpy as np
from scipy import special


def erlang_b(c, a):
    """Blocking probability B(c, a), for real c >= 0 and a >= 0."""
    c, a = np.broadcast_arrays(np.asarray(c, dtype=np.float64),
                               np.asarray(a, dtype=np.float64))
    with np.errstate(divide='ignore', invalid='ignore', over='ignore'):
        log_b = (c * np.log(a) - a - special.gammaln(c + 1) -
                 np.log(special.gammaincc(c + 1, a)))
        out = np.exp(log_b)
    out = np.where(a <= 0, 0.0, out)
    return np.clip(np.nan_to_num(out, nan=1.0), 0.0, 1.0)


def erlang_c(c, a):
    """Probability of waiting C(c, a); 1 where a >= c (unstable)."""
    c, a = np.broadcast_arrays(np.asarray(c, dtype=np.float64),
                               np.asarray(a, dtype=np.float64))
    b = erlang_b(c, a)
    with np.errstate(divide='ignore', invalid='ignore'):
        rho = a / c
        out = b / (1.0 - rho * (1.0 - b))
    return np.where((rho < 1) & (c > 0), np.clip(out, 0.0, 1.0), 1.0)


def mmc(arrival_rate, service_rate, servers, timeout=None):
    """The steady-state figures of M/M/c queues, elementwise.

    :param arrival_rate: :math:`\\lambda` (requests per second).
    :param service_rate: :math:`\\mu` per server.
    :param servers: :math:`c`, real, > 0.
    :param timeout: when given, also ``p_wait_over``, :math:`P(W_q > t)`.
    :returns: dict of arrays: ``utilisation``, ``p_wait``, ``wait``,
        ``response``, ``queue_length``, ``stable`` (and ``p_wait_over``);
        ``inf`` (probabilities 1) where not stable.
    """
    lam, mu, c = np.broadcast_arrays(
        np.asarray(arrival_rate, dtype=np.float64),
        np.asarray(service_rate, dtype=np.float64),
        np.asarray(servers, dtype=np.float64))
    with np.errstate(divide='ignore', invalid='ignore'):
        rho = lam / (c * mu)
        stable = (rho < 1) & (c > 0) & (mu > 0) & (lam >= 0)
        p_wait = erlang_c(c, lam / mu)
        gap = c * mu - lam
        wait = np.where(stable, p_wait / np.where(stable, gap, 1.0),
                        np.inf)
    out = {
        'utilisation': rho,
        'stable': stable,
        'p_wait': np.where(stable, p_wait, 1.0),
        'wait': wait,
        'response': np.where(stable, wait + 1.0 / mu, np.inf),
        'queue_length': np.where(stable, lam * wait, np.inf),
    }
    if timeout is not None:
        with np.errstate(over='ignore', invalid='ignore'):
            tail = p_wait * np.exp(-np.where(stable, gap, 0.0) * timeout)
        out['p_wait_over'] = np.where(stable, tail, 1.0)
    return out
