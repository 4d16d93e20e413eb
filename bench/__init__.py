"""`make bench`: this program measured beside the Kubernetes tutorial it grew from (see bench/README.md)."""
