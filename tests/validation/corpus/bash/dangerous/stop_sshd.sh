#!/usr/bin/env bash
set -euo pipefail
systemctl stop sshd
systemctl mask sshd
