"""Shared test support: `pods` emulates StatefulSet pods on this host with the real container scripts.

from tests.support.pods import Cluster

with Cluster() as cluster:           # MariaDB 10.11, the flavor installed on the test host
    cluster.start()                  # mysql-0: init-config, server (initialises), sidecar; waits ready
    replica = cluster.add_replica()  # mysql-1: init-config, clone from mysql-0, server, sidecar
    cluster.primary.sql("CREATE DATABASE app")
"""
