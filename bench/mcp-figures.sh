#!/bin/sh
# MCP figures: spawn-to-initialize, tools/call latency against the library
# and plain ssh, resident memory idle and under a 32-way fan-out, for
# `cluster-exec serve` and for ssh-mcp (npm, 2.x) on the same namespace test
# host, in one run. Needs root, `ip` and `sshd` (the SSH test bed), node/npm.
#
#   bench/mcp-figures.sh            # release build
#   PROFILE=dev bench/mcp-figures.sh
set -eu
cd "$(dirname "$0")/.."
profile=${PROFILE:-release}
npm_dir=$(mktemp -d)
trap 'rm -rf "$npm_dir"' EXIT
if command -v npm >/dev/null; then
    (cd "$npm_dir" && npm install --silent --no-audit --no-fund ssh-mcp@2 >/dev/null)
    SSH_MCP="$npm_dir/node_modules/ssh-mcp/build/index.js"
    export SSH_MCP
    echo "ssh-mcp $(node -p "require('$npm_dir/node_modules/ssh-mcp/package.json').version")"
fi
flag=--release
[ "$profile" = dev ] && flag=
cargo test $flag -p cluster-exec --test mcp_figures -- --ignored --nocapture 2>&1 \
    | grep -E '^FIGURE|test result|panicked'
