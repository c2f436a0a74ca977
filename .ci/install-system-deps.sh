#!/usr/bin/env bash
# Installs every Debian package the test suite needs: the real programs that read each
# generated artifact (see README "Real-checker tests"). Idempotent; run as root.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
# Keep package scripts from starting daemons on the test machine.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod 0755 /usr/sbin/policy-rc.d
fi
apt-get update
apt-get install -y --no-install-recommends \
  haproxy chrony rsyslog mariadb-server-core mariadb-client-core galera-4 xinetd \
  etcd-server etcd-client memcached rabbitmq-server pcs pacemaker pacemaker-cli-utils resource-agents corosync \
  shellcheck logrotate systemd procps iproute2 util-linux psmisc python3 openssh-server openssh-client sudo patch \
  e2fsprogs crudini socat
