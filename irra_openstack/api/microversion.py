"""API microversions: ``OpenStack-API-Version: irra 1.x``.

A request names the version it wants in the ``OpenStack-API-Version``
header (``irra 1.2``, or ``irra latest``); without one it gets the minimum.
Every response says which version answered, in the same header, with
``Vary: OpenStack-API-Version``. A malformed header is a 400, a version
outside the range a 406.

Versions:

1.0
    The initial API.
1.1
    Forecasts carry a ``model`` object (name, version, parameters, data
    set, accuracy of the run) besides ``model_name``.
1.2
    ``GET /v1/headroom``: the scheduler's headroom snapshot, with an ETag.
"""

import re

from irra_openstack.api import errors

SERVICE_TYPE = 'irra'
HEADER = 'OpenStack-API-Version'
ENV_KEY = 'irra.microversion'

#: Every version, oldest first, with what it changed.
VERSIONS = (
    ('1.0', 'Initial version.'),
    ('1.1', 'Forecasts carry a "model" object with the run\'s metadata.'),
    ('1.2', 'GET /v1/headroom: the scheduler headroom snapshot, with an '
            'ETag.'),
)

_VERSION_RE = re.compile(r'^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$')


class Version(tuple):
    """A microversion, comparable as (major, minor)."""

    def __new__(cls, major, minor):
        return super().__new__(cls, (int(major), int(minor)))

    def __str__(self):
        return '%d.%d' % self

    @classmethod
    def parse(cls, text):
        match = _VERSION_RE.match(text.strip())
        if not match:
            raise ValueError(text)
        return cls(match.group(1), match.group(2))


MIN_VERSION = Version.parse(VERSIONS[0][0])
MAX_VERSION = Version.parse(VERSIONS[-1][0])


def from_header(value):
    """The version that a request's header asks for.

    :param value: the ``OpenStack-API-Version`` header, or None.
    :raises errors.BadRequest: the header is malformed.
    :raises errors.NotAcceptable: the version is outside the range.
    """
    if not value:
        return MIN_VERSION
    wanted = None
    for part in value.split(','):
        words = part.split()
        if len(words) == 2 and words[0].lower() == SERVICE_TYPE:
            wanted = words[1]
    if wanted is None:
        # The header is for other services only.
        return MIN_VERSION
    if wanted.lower() == 'latest':
        return MAX_VERSION
    try:
        version = Version.parse(wanted)
    except ValueError:
        raise errors.BadRequest(
            'Invalid %s header "%s": use "%s 1.N" or "%s latest".' % (
                HEADER, value, SERVICE_TYPE, SERVICE_TYPE),
            code='irra.microversion_invalid')
    if not MIN_VERSION <= version <= MAX_VERSION:
        raise errors.NotAcceptable(
            'Version %s is not supported by the API: the minimum is %s and '
            'the maximum is %s.' % (version, MIN_VERSION, MAX_VERSION),
            code='irra.microversion_unsupported')
    return version


def of(req):
    """The version of a request (the minimum before the header is read)."""
    return req.environ.get(ENV_KEY, MIN_VERSION)


def at_least(req, text):
    """Whether the request's version is ``text`` or later."""
    return of(req) >= Version.parse(text)
