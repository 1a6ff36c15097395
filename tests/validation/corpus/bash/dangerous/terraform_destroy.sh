#!/usr/bin/env bash
set -euo pipefail
cd /srv/infra
terraform destroy -auto-approve
