#!/usr/bin/env bash
set -euo pipefail

while IFS= read -r unit; do
  systemctl restart "$unit"
  systemctl is-active "$unit"
done < /etc/app/units.txt
