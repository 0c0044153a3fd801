"""The OpenStackClient plugin hooks (entry point openstack.cli.extension).

OSC calls :func:`make_client` on the first ``openstack irra`` command that
needs the API. The endpoint is irra's in the service catalog (service type
``resource-allocation``), or the one in the ``IRRA_ENDPOINT`` environment
variable, or the auth plugin's own endpoint (for example
``--os-auth-type admin_token --os-endpoint URL --os-token TOKEN``, or
``--os-auth-type none --os-endpoint URL``).
"""

import os

from osc_lib import utils

from irra_openstack.cli import client as irra_client

API_NAME = 'irra'
API_VERSION_OPTION = 'os_irra_api_version'
DEFAULT_API_VERSION = '1'
API_VERSIONS = {'1': 'irra_openstack.cli.client.Client'}
SERVICE_TYPE = 'resource-allocation'


def make_client(instance):
    """The irra client of an OSC ClientManager."""
    cls = utils.get_client_class(API_NAME, instance._api_version[API_NAME],
                                 API_VERSIONS)
    endpoint = os.environ.get('IRRA_ENDPOINT')
    if not endpoint:
        endpoint = instance.get_endpoint_for_service_type(
            SERVICE_TYPE, region_name=instance.region_name,
            interface=instance.interface)
    if not endpoint:
        endpoint = instance.auth.get_endpoint(instance.session)
    return cls(instance.session, endpoint,
               microversion=irra_client.DEFAULT_MICROVERSION)


def build_option_parser(parser):
    """Add irra's global options to OSC's parser."""
    parser.add_argument(
        '--os-irra-api-version', metavar='<version>',
        default=utils.env('OS_IRRA_API_VERSION',
                          default=DEFAULT_API_VERSION),
        help='irra API major version (default: 1, env '
             'OS_IRRA_API_VERSION).')
    return parser
