#!/usr/bin/env bash
# The test stacks listen on loopback ports 55000-59999, inside Linux's ephemeral range: a client
# connection opened between a stack's free-port probe and its bind can take the port (a PostgreSQL
# start then fails). Reserving the range keeps outgoing connections off it. Needs root; without it
# the tests still pass, the stacks just retry on other ports.
set -euo pipefail
range=55000-59999
knob=/proc/sys/net/ipv4/ip_local_reserved_ports
[ -w "$knob" ] || { echo "note: not reserving test ports $range (needs root)"; exit 0; }
current=$(cat "$knob")
case ",$current," in *",$range,"*) exit 0 ;; esac
echo "${current:+$current,}$range" > "$knob"
echo "reserved test ports $range from the ephemeral range"
