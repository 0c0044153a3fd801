"""Uniform reasons for planned actions (explainability).

Every :class:`~irra_openstack.optimizer.actions.PlannedAction` carries a
``reason`` dict that an operator reads to understand why irra wants to do
it. The planners build it with the helpers here, so that every reason has
the same keys:

``forecast``
    the forecast numbers and interval that triggered the action (see
    :func:`forecast_numbers`);
``constraint``
    the constraint the action resolves, as text (e.g. ``"host overload:
    compute-3 VCPU"``);
``benefit``
    the expected benefit: ``{"amount": .., "unit": .., "what": ..}``;
``price``
    where a market or unit price was involved, the unit price (optional);
``schedule``
    added by the migration schedulers: wave, expected start and seconds,
    and what the action waits for (see :func:`with_schedule`).

:func:`validate` checks a reason; :func:`complete` fills the forecast
numbers of a migration from the cluster model when its planner gave none.
"""

import json
import math

import numpy as np

from irra_openstack import exception
from irra_openstack.optimizer import model as model_mod

#: The keys every reason has.
REQUIRED = ('forecast', 'constraint', 'benefit')


class ExplainError(exception.IrraError):
    msg_fmt = "Invalid action reason: %(reason)s"


def _number(name, value):
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ExplainError(reason="%s must be a number, got %r"
                           % (name, value))
    if not math.isfinite(number):
        raise ExplainError(reason="%s must be finite, got %r"
                           % (name, value))
    return number


def forecast_numbers(metric, point, lower, upper, level, threshold=None,
                     unit=None, resource=None, at=None):
    """The forecast that triggered an action, as a reason's ``forecast``.

    :param metric: the metric or resource class, e.g. ``VCPU``.
    :param point, lower, upper: the forecast and its interval, at the
        step that matters (usually the predicted peak).
    :param level: the interval's nominal coverage, in (0, 1).
    :param threshold: the limit the forecast is compared with.
    :param resource: what was forecast (host, VM, application, region).
    :param at: seconds from the plan's start of that step.
    """
    point = _number('point', point)
    lower = _number('lower', lower)
    upper = _number('upper', upper)
    level = _number('level', level)
    if not lower <= point + 1e-9 or not point <= upper + 1e-9:
        raise ExplainError(
            reason="forecast of %s: lower <= point <= upper does not hold "
                   "(%g, %g, %g)" % (metric, lower, point, upper))
    if not 0 < level < 1:
        raise ExplainError(reason="level must be in (0, 1), got %g"
                           % level)
    out = {'metric': str(metric), 'point': point, 'lower': lower,
           'upper': upper, 'level': level}
    if threshold is not None:
        out['threshold'] = _number('threshold', threshold)
    if unit is not None:
        out['unit'] = str(unit)
    if resource is not None:
        out['resource'] = str(resource)
    if at is not None:
        out['at'] = _number('at', at)
    return out


def benefit(amount, unit, what):
    """A reason's ``benefit``: ``amount`` of ``unit`` of ``what``."""
    return {'amount': _number('benefit', amount), 'unit': str(unit),
            'what': str(what)}


def build(forecast, constraint, benefit, price=None, **extra):
    """A complete, validated reason."""
    reason = {'forecast': forecast, 'constraint': str(constraint),
              'benefit': benefit}
    if price is not None:
        reason['price'] = _number('price', price)
    reason.update(extra)
    return validate(reason)


def validate(reason):
    """Check ``reason`` and return it.

    :raises ExplainError: a required key is missing, a number is not
        finite, or the reason cannot be stored as JSON.
    """
    if not isinstance(reason, dict):
        raise ExplainError(reason="a reason is a dict, got %s"
                           % type(reason).__name__)
    missing = [k for k in REQUIRED if k not in reason]
    if missing:
        raise ExplainError(reason="the reason has no %s"
                           % ', '.join(missing))
    fc = reason['forecast']
    if isinstance(fc, dict):
        for k in ('point', 'lower', 'upper'):
            if k in fc:
                _number('forecast %s' % k, fc[k])
    if 'price' in reason and reason['price'] is not None:
        _number('price', reason['price'])
    try:
        json.dumps(reason, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ExplainError(reason="the reason cannot be stored as JSON: %s"
                           % exc)
    return reason


def with_schedule(reason, wave, start, seconds, waits_for=(), **extra):
    """``reason`` with the migration scheduler's own part added.

    :param wave: the wave number (0-based).
    :param start: expected start, seconds after the plan starts.
    :param seconds: expected duration of the migration.
    :param waits_for: human-readable descriptions of what must finish
        first (e.g. ``"vm-3 leaves compute-2 (frees MEMORY_MB)"``).
    """
    out = dict(reason)
    sched = {'wave': int(wave), 'start': round(_number('start', start), 3),
             'expected_seconds': round(_number('seconds', seconds), 3),
             'waits_for': list(waits_for)}
    sched.update(extra)
    out['schedule'] = sched
    return out


def _host_sums(model, usage_lower, cache):
    """(upper, point, lower or None) summed per host: (H, T, R) each."""
    if cache is not None and 'hosts' in cache:
        return cache['hosts']
    upper = model.host_usage_upper()
    placed = model.vm_host >= 0
    point = np.zeros_like(upper)
    np.add.at(point, model.vm_host[placed], model.usage_point[placed])
    lower = None
    if usage_lower is not None:
        lower = np.zeros_like(upper)
        np.add.at(lower, model.vm_host[placed],
                  np.asarray(usage_lower)[placed])
    if cache is not None:
        cache['hosts'] = (upper, point, lower)
    return upper, point, lower


def host_forecast(model, host, resource_class=None, level=None,
                  usage_lower=None, cache=None):
    """Forecast numbers of ``host``'s predicted peak (from the model).

    The host's upper bound is the sum of its VMs' upper bounds; the point
    forecast the sum of their points, and the lower bound the sum of
    ``usage_lower`` (V, T, R) when given, else the point (the model holds
    no lower bound). The resource class is the one with the highest peak
    relative to the threshold, unless one is given. ``cache``, a dict kept
    by the caller, saves summing the hosts again for the next action.
    """
    h = model.host_names.index(host)
    upper_all, point_all, lower_all = _host_sums(model, usage_lower, cache)
    upper, point_all = upper_all[h], point_all[h]
    lower_all = None if lower_all is None else lower_all[h]
    limit = model.threshold[h] * model.capacity[h]
    if resource_class is None:
        rel = upper.max(axis=0) / np.maximum(limit, 1e-9)
        r = int(np.argmax(rel))
    else:
        r = model_mod.RESOURCE_CLASSES.index(resource_class)
    t = int(np.argmax(upper[:, r]))
    point = min(float(point_all[t, r]), float(upper[t, r]))
    lower = point if lower_all is None else min(float(lower_all[t, r]),
                                                point)
    return forecast_numbers(
        model_mod.RESOURCE_CLASSES[r], point=point, lower=lower,
        upper=float(upper[t, r]),
        level=level if level is not None else 0.9,
        threshold=float(limit[r]), resource=host, at=t * model.step)


def complete(action, model, level=None, usage_lower=None, cache=None):
    """Fill what a migration's reason lacks from ``model``; return it.

    Planners may write their own details; this adds the uniform keys
    next to them, and never removes any:

    - ``forecast`` without ``upper``: the source host's predicted peak
      (metric, point, lower, upper, level, threshold, at);
    - no ``constraint``: ``"host overload: SOURCE METRIC"``;
    - ``benefit`` without ``amount``: the VM's predicted peak moved off the
      source, in the forecast's resource class.

    The action's reason is replaced by the completed, validated one.
    """
    reason = dict(action.reason or {})
    fc = reason.get('forecast')
    fc = dict(fc) if isinstance(fc, dict) else (
        {} if fc is None else {'detail': fc})
    if 'upper' not in fc and action.source in model.host_names:
        fc.update(host_forecast(model, action.source, level=level,
                                usage_lower=usage_lower, cache=cache))
    reason['forecast'] = fc
    if not reason.get('constraint'):
        reason['constraint'] = 'host overload: %s %s' % (
            action.source, fc.get('metric', ''))
    ben = reason.get('benefit')
    ben = dict(ben) if isinstance(ben, dict) else (
        {} if ben is None else {'detail': ben})
    if 'amount' not in ben:
        metric = fc.get('metric', 'VCPU')
        r = (model_mod.RESOURCE_CLASSES.index(metric)
             if metric in model_mod.RESOURCE_CLASSES else 0)
        amount = 0.0
        if action.resource_id in model.vm_ids:
            v = model.vm_ids.index(action.resource_id)
            amount = float(model.usage_upper[v, :, r].max())
        ben.update(benefit(amount, model_mod.RESOURCE_CLASSES[r],
                           'predicted peak moved off %s' % action.source))
    reason['benefit'] = ben
    action.reason = validate(reason)
    return action


def describe(action):
    """One line for an operator: what, why, when."""
    reason = action.reason or {}
    parts = ['%s %s' % (action.action_type, action.resource_id)]
    if action.source or action.destination:
        parts.append('%s -> %s' % (action.source, action.destination))
    if reason.get('constraint'):
        parts.append('resolves %s' % reason['constraint'])
    fc = reason.get('forecast') or {}
    if 'upper' in fc:
        parts.append('forecast %s %.4g [%.4g, %.4g] at %g%%%s' % (
            fc.get('metric', ''), fc.get('point', float('nan')),
            fc.get('lower', float('nan')), fc['upper'],
            100 * fc.get('level', float('nan')),
            ' vs %.4g' % fc['threshold'] if 'threshold' in fc else ''))
    ben = reason.get('benefit') or {}
    if ben.get('amount'):
        parts.append('benefit %.4g %s' % (ben['amount'],
                                          ben.get('unit', '')))
    if reason.get('price') is not None:
        parts.append('price %.4g' % reason['price'])
    sched = reason.get('schedule') or {}
    if sched:
        parts.append('wave %d, ~%.0f s from +%.0f s' % (
            sched['wave'], sched['expected_seconds'], sched['start']))
        if sched.get('waits_for'):
            parts.append('after %s' % '; '.join(sched['waits_for']))
    return ', '.join(parts)
