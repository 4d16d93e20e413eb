"""The mysql-cluster stack: configuration in, one cluster, its outputs out."""

import pulumi

from mysql_cluster import MySQLCluster, MySQLClusterArgs

cluster = MySQLCluster("mysql", MySQLClusterArgs.from_config(pulumi.Config()))
for output_name, value in cluster.outputs().items():
    pulumi.export(output_name, value)
