"""Helpers for tests/test_datapath.py: Azure's part of the Private Link data path (Private Link
Service, load balancer rules, inbound NAT rules, health probes) played on this machine, in
network namespaces the test creates, in front of the real nginx, HAProxy and Envoy."""
