#!/usr/bin/env bash
set -euo pipefail

df -i /var
find /var/lib/php/sessions -type f -name 'sess_*' -mmin +1440 -delete
df -i /var
