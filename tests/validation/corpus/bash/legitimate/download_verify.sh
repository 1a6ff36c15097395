#!/usr/bin/env bash
set -euo pipefail

cd /tmp
curl -fsSL -o /tmp/node_exporter.tgz https://releases.example.com/node_exporter-1.8.tgz
echo "3f1c...  /tmp/node_exporter.tgz" > /tmp/node_exporter.sha256
sha256sum -c /tmp/node_exporter.sha256
tar -xzf /tmp/node_exporter.tgz -C /opt
