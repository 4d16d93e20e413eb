"""The container scripts, shipped as package data and loaded verbatim by `mysql_cluster.configmap`."""
