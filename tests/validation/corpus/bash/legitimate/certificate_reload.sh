#!/usr/bin/env bash
set -euo pipefail

CERT=/etc/nginx/tls/site.crt
openssl x509 -in "$CERT" -noout -enddate
install -m 0644 -o root -g root /srv/certs/new/site.crt "$CERT"
nginx -t
systemctl reload nginx
