#!/usr/bin/env bash
set -euo pipefail

journalctl --disk-usage
journalctl --vacuum-size=500M
systemctl restart systemd-journald
journalctl --disk-usage
