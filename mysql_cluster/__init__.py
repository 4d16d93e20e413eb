"""A replicated MySQL/MariaDB cluster on Kubernetes, as a Pulumi component.

import pulumi
from mysql_cluster import MySQLCluster, MySQLClusterArgs

cluster = MySQLCluster("mysql", MySQLClusterArgs(replicas=3, namespace="databases"))
pulumi.export("writeHost", cluster.write_host)
"""

from mysql_cluster.component import MySQLCluster
from mysql_cluster.config import (
    ConfigError,
    ContainerResources,
    MySQLClusterArgs,
    NetworkPolicyArgs,
    PvcRetention,
    Resources,
)

__all__ = [
    "ConfigError",
    "ContainerResources",
    "MySQLCluster",
    "MySQLClusterArgs",
    "NetworkPolicyArgs",
    "PvcRetention",
    "Resources",
]
