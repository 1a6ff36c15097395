#!/usr/bin/env bash
set -euo pipefail
setenforce 0
sed -i 's/SELINUX=enforcing/SELINUX=disabled/' /etc/selinux/config
systemctl restart httpd
