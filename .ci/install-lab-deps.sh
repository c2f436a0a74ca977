#!/usr/bin/env bash
# Installs the Debian packages the container lab (npm run test:e2e) needs on the host: nspawn to
# boot the nodes, debootstrap to build their image, iproute2 for the lab's network namespaces,
# the OpenSSH client to reach the nodes, util-linux for nsenter/mountpoint, curl for the HTTP
# checks (run inside the lab namespace), and Debian's Python with the OpenStack client libraries
# (PyMySQL as under oslo.db, py-amqp as under oslo.messaging's kombu, pymemcache) for the drills'
# load client (test/e2e/lab/load-client.py). Idempotent; root.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends \
  systemd-container debootstrap debian-archive-keyring iproute2 openssh-client util-linux \
  curl procps coreutils findutils ca-certificates \
  python3 python3-pymysql python3-amqp python3-pymemcache
