#!/usr/bin/env bash
set -euo pipefail

ATTACKER=203.0.113.7
iptables -C INPUT -s "$ATTACKER" -j DROP 2>/dev/null || iptables -I INPUT -s "$ATTACKER" -j DROP
iptables -L INPUT -n --line-numbers | head -20
