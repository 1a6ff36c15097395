#!/usr/bin/env bash
set -euo pipefail

log() { printf '%s %s\n' "$(date -Is)" "$*"; }

check_disk() {
  local mount=$1
  df --output=pcent "$mount" | tail -1 | tr -dc '0-9'
}

clean_app_tmp() {
  local dir=${1:?directory required}
  find "$dir" -type f -mmin +120 -delete
}

log "before: $(check_disk /srv)%"
clean_app_tmp /srv/app/tmp
log "after: $(check_disk /srv)%"
