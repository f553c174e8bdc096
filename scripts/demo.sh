#!/usr/bin/env bash
# The main job until the scaling demo lands: start a local HAProxy from the project's template with
# two sample servers, show `ha-agent status` against it, then stop everything this script started.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

work=$(mktemp -d)
haproxy_pid=""
web_pid=""
cleanup() {
  [ -n "$haproxy_pid" ] && kill "$haproxy_pid" 2>/dev/null || true
  [ -n "$web_pid" ] && kill "$web_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

runtime_port=${HA_AGENT_DEMO_RUNTIME_PORT:-9999}
node --input-type=module -e "
import http from 'node:http';
http.createServer((q, s) => s.end('ok')).listen(3000, '127.0.0.2', () => console.error('web server on 127.0.0.2:3000'));
" &
web_pid=$!
node --input-type=module -e "
import { readFileSync, writeFileSync } from 'node:fs';
import { compileTemplate } from './dist/render/template.js';
import { defaultServerPolicy } from './dist/model/server.js';
const render = compileTemplate(readFileSync('ha/config/haproxy.cfg.hbs', 'utf8'));
writeFileSync('$work/haproxy.cfg', render({
  runtime: { tcp: '127.0.0.1:$runtime_port', unixSocket: '$work/admin.sock' },
  frontend: { bind: '127.0.0.1:${HA_AGENT_DEMO_PORT:-8080}' },
  backend: { name: 'nodes', balance: 'roundrobin', healthPath: '/' },
  policy: defaultServerPolicy,
  servers: [
    { name: 'web-1', address: '127.0.0.2', port: 3000, weight: 100 },
    { name: 'web-2', address: '127.0.0.3', port: 3000, weight: 100 },
  ],
}));
"
haproxy -db -f "$work/haproxy.cfg" >"$work/haproxy.log" 2>&1 &
haproxy_pid=$!
sleep 2
echo "\$ npx ha-agent status --runtime tcp://127.0.0.1:$runtime_port"
npx ha-agent status --runtime "tcp://127.0.0.1:$runtime_port"
