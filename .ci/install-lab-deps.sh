#!/usr/bin/env bash
# Installs the Debian packages the container lab (npm run test:e2e) needs on the host: nspawn to
# boot the nodes, debootstrap to build their image, iproute2 for the lab's network namespaces,
# the OpenSSH client to reach the nodes, util-linux for nsenter/mountpoint, curl for the HTTP
# checks (run inside the lab namespace). Idempotent; root.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends \
  systemd-container debootstrap debian-archive-keyring iproute2 openssh-client util-linux \
  curl procps coreutils findutils ca-certificates
