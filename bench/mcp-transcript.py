#!/usr/bin/env python3
"""Records one real MCP session with `cluster-exec serve` on stdio: every
JSON-RPC line sent (>) and received (<), for the README.

usage: bench/mcp-transcript.py BINARY CONFIG
"""
import json
import subprocess
import sys
import time

binary, config = sys.argv[1], sys.argv[2]
proc = subprocess.Popen(
    [binary, "serve", "--config", config],
    stdin=subprocess.PIPE,
    stdout=subprocess.PIPE,
    stderr=subprocess.DEVNULL,
    text=True,
)


def send(msg):
    line = json.dumps(msg, separators=(",", ":"))
    print("> " + line)
    proc.stdin.write(line + "\n")
    proc.stdin.flush()


def recv_until(id_):
    while True:
        line = proc.stdout.readline()
        if not line:
            return
        print("< " + line.rstrip("\n"))
        msg = json.loads(line)
        if msg.get("id") == id_:
            return msg


send({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-11-25", "capabilities": {},
    "clientInfo": {"name": "transcript", "version": "1.0"}}})
recv_until(1)
send({"jsonrpc": "2.0", "method": "notifications/initialized"})
send({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
    "name": "cluster_bash", "_meta": {"progressToken": "p1"},
    "arguments": {"command": "for i in 1 2; do echo step $i; sleep 0.6; done"}}})
recv_until(2)
send({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {
    "name": "explain", "arguments": {"command": "rm -rf / --no-preserve-root"}}})
recv_until(3)
send({"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {
    "name": "offload_to", "arguments": {"command": "uptime", "node_id": "gpu-box"}}})
recv_until(4)
proc.stdin.close()
proc.wait(timeout=10)
