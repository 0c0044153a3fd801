#!/bin/bash
#
# plugin.sh - DevStack plugin of irra-openstack.
#
# DevStack calls it with the phase: "stack install", "stack post-config",
# "stack extra", "unstack", "clean" (and others, which it ignores).

# Save trace setting
_XTRACE_IRRA_PLUGIN=$(set +o | grep xtrace)
set -o xtrace

source "$IRRA_DIR/devstack/lib/irra"

if is_service_enabled irra-api irra-rrm; then
    if [[ "$1" == "stack" && "$2" == "install" ]]; then
        echo_summary "Installing irra-openstack"
        install_irra

    elif [[ "$1" == "stack" && "$2" == "post-config" ]]; then
        echo_summary "Configuring irra-openstack"
        configure_irra
        if [[ "$IRRA_ENABLE_SCHEDULER_PLUGIN" == "True" ]] && is_service_enabled n-sch; then
            echo_summary "Adding irra's filter and weigher to nova-scheduler"
            configure_nova_for_irra
        fi

    elif [[ "$1" == "stack" && "$2" == "extra" ]]; then
        echo_summary "Initialising and starting irra-openstack"
        init_irra
        if is_service_enabled key; then
            create_irra_accounts
        fi
        start_irra
    fi

    if [[ "$1" == "unstack" ]]; then
        stop_irra
    fi

    if [[ "$1" == "clean" ]]; then
        cleanup_irra
    fi
fi

# Restore xtrace
$_XTRACE_IRRA_PLUGIN
