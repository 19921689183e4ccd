#!/bin/sh
# The ufw commands the firewall apply runs on this host (rules tagged with the comment mpi-hosts).
ufw 'allow' 'from' '128.5.5.0/24' 'to' 'any' 'port' '50000' 'proto' 'tcp' 'comment' 'mpi-hosts'
ufw 'allow' 'from' '128.5.5.0/24' 'to' 'any' 'port' '50001' 'proto' 'tcp' 'comment' 'mpi-hosts'
ufw 'deny' 'proto' 'tcp' 'to' 'any' 'port' '50000' 'comment' 'mpi-hosts'
ufw 'deny' 'proto' 'tcp' 'to' 'any' 'port' '50001' 'comment' 'mpi-hosts'
