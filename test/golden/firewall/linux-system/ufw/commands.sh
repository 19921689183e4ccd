#!/bin/sh
# The ufw commands the firewall apply runs on this host (rules tagged with the comment mpi-hosts).
ufw 'allow' 'from' '10.9.0.0/24' 'to' 'any' 'port' '50000:50099' 'proto' 'tcp' 'comment' 'mpi-hosts'
ufw 'allow' 'from' '10.9.0.0/24' 'to' 'any' 'port' '32768:65535' 'proto' 'tcp' 'comment' 'mpi-hosts'
ufw 'deny' 'proto' 'tcp' 'to' 'any' 'port' '50000:50099' 'comment' 'mpi-hosts'
