"""`MySQLCluster`: the component that wires the parts together and publishes what callers need."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from mysql_cluster import (
    cluster_facts,
    configmap,
    names,
    policies,
    redeploy_guard,
    secrets,
    server_config,
    services,
    statefulset,
)
from mysql_cluster.config import MySQLClusterArgs, check_namespace
from mysql_cluster.flavors import get_flavor
from mysql_cluster.redeploy_guard import Intent


class MySQLCluster(pulumi.ComponentResource):
    """A replicated MySQL or MariaDB cluster: one primary (pod 0) and `replicas - 1` asynchronous replicas.

    Writes go to `write_endpoint`, reads to `read_endpoint`, both on `port`. Every child is named from `name`
    (which also names the StatefulSet and prefixes the Services), so several clusters live in one stack.
    """

    namespace: pulumi.Output[str]
    statefulset_name: pulumi.Output[str]
    headless_service: pulumi.Output[str]
    write_service: pulumi.Output[str]
    read_service: pulumi.Output[str]
    write_endpoint: pulumi.Output[str]
    read_endpoint: pulumi.Output[str]
    port: pulumi.Output[int]
    pod_names: pulumi.Output[list[str]]
    pod_hosts: pulumi.Output[list[str]]
    replicas: pulumi.Output[int]
    max_lag_seconds: pulumi.Output[int]
    flavor: pulumi.Output[str]
    version: pulumi.Output[str]
    image: pulumi.Output[str]
    backup_image: pulumi.Output[str]
    config_map_name: pulumi.Output[str]
    secret_name: pulumi.Output[str]
    # The generated passwords, marked secret; None when the credentials come from `existingSecret`.
    root_password: pulumi.Output[str] | None
    replication_password: pulumi.Output[str] | None
    backup_password: pulumi.Output[str] | None

    def __init__(
        self, name: str, args: MySQLClusterArgs | None = None, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        # Everything that can fail on bad input fails here, before a single resource is declared.
        args = args if args is not None else MySQLClusterArgs()
        names.check_cluster_name(name)
        flavor = get_flavor(args.flavor, args.resolved_version)
        custom_cnf = server_config.render(args.server_config)
        files = configmap.config_files(flavor, custom_cnf)
        namespace_name = args.namespace or name
        check_namespace(namespace_name, args.create_namespace)
        super().__init__(names.COMPONENT_TYPE, name, None, opts)
        # Nothing is created in the cluster before the guard has checked, on a first deploy, that the
        # namespace holds no data a destroy kept that this deployment would lock out.
        child = redeploy_guard.guarded(
            self,
            Intent(
                cluster=name,
                namespace=namespace_name,
                create_namespace=args.create_namespace,
                existing_secret=args.existing_secret,
                when_deleted=args.pvc_retention.when_deleted,
                facts=cluster_facts.configured(args),
            ),
        )
        # Retained volumes are only useful with their namespace and their passwords: keep all three together.
        keep_data = args.pvc_retention.when_deleted == "Retain"

        namespace = self._namespace(name, namespace_name, args.create_namespace, keep_data, child)
        if args.existing_secret is not None:
            credentials = secrets.existing_credentials(name, args.existing_secret, namespace, child)
        else:
            credentials = secrets.generated_credentials(
                name, namespace, retain_on_delete=keep_data, opts=child, rotation=args.password_rotation
            )
        config_map = configmap.create_config_map(name, namespace, files, child)
        state = configmap.create_state_config_map(name, namespace, keep_data, child)
        svc = services.create_services(
            name,
            namespace,
            primary_serves_reads=args.primary_serves_reads,
            opts=child,
        )
        rbac = policies.create_rbac(name, namespace, args.replicas, child)
        policies.create_disruption_budget(name, namespace, child)
        # Pods start only once they may label themselves and once their network policy is in place (the clone
        # port serves full backups and must never be open, not even for the first minute).
        guards: list[pulumi.Resource] = [rbac.role, rbac.binding, state]
        if args.network_policy.enabled:
            guards.append(policies.create_network_policy(name, namespace, args.network_policy, child))
        sts = statefulset.create_statefulset(
            name,
            args,
            flavor,
            statefulset.PodInputs(
                namespace=namespace_name,
                namespace_output=namespace,
                config_map_name=config_map.metadata.name,
                config_checksum=configmap.checksum(files),
                server_config_checksum=configmap.server_config_checksum(flavor, custom_cnf),
                secret_name=credentials.secret_name,
                service_account_name=rbac.service_account.metadata.name,
                headless_service_name=svc.headless.metadata.name,
            ),
            pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=guards)),
        )
        if args.replicas == 1 and not args.primary_serves_reads:
            pulumi.log.warn(
                "replicas=1 and primaryServesReads=false: the read Service has no endpoints", resource=self
            )

        def host(service: k8s.core.v1.Service) -> pulumi.Output[str]:
            return pulumi.Output.all(service.metadata.name, namespace).apply(
                lambda parts: names.service_host(parts[0], parts[1], args.cluster_domain)
            )

        self.namespace = namespace
        self.statefulset_name = sts.metadata.name
        self.headless_service = svc.headless.metadata.name
        self.write_service = svc.write.metadata.name
        self.read_service = svc.read.metadata.name
        self.write_endpoint = host(svc.write)
        self.read_endpoint = host(svc.read)
        self.port = pulumi.Output.from_input(names.MYSQL_PORT)
        self.pod_names = pulumi.Output.from_input(names.pods(name, args.replicas))
        self.pod_hosts = pulumi.Output.all(sts.metadata.name, svc.headless.metadata.name, namespace).apply(
            lambda _: [
                names.pod_host(name, ordinal, namespace_name, args.cluster_domain)
                for ordinal in range(args.replicas)
            ]
        )
        self.replicas = pulumi.Output.from_input(args.replicas)
        self.max_lag_seconds = pulumi.Output.from_input(args.max_lag_seconds)
        self.flavor = pulumi.Output.from_input(flavor.name)
        self.version = pulumi.Output.from_input(flavor.version)
        self.image = pulumi.Output.from_input(args.image or flavor.default_image)
        self.backup_image = pulumi.Output.from_input(args.backup_image or flavor.default_backup_image)
        self.config_map_name = config_map.metadata.name
        self.secret_name = credentials.secret_name
        passwords = credentials.passwords or {}
        self.root_password = passwords.get(names.SECRET_KEY_ROOT)
        self.replication_password = passwords.get(names.SECRET_KEY_REPLICATION)
        self.backup_password = passwords.get(names.SECRET_KEY_BACKUP)
        self.register_outputs(self.outputs())

    def outputs(self) -> dict[str, pulumi.Input[object] | None]:
        """The component's outputs by stack-output name (what `__main__.py` exports)."""
        return {
            "namespace": self.namespace,
            "statefulSetName": self.statefulset_name,
            "headlessService": self.headless_service,
            "writeService": self.write_service,
            "readService": self.read_service,
            "writeEndpoint": self.write_endpoint,
            "readEndpoint": self.read_endpoint,
            "port": self.port,
            "podNames": self.pod_names,
            "podHosts": self.pod_hosts,
            "replicas": self.replicas,
            "maxLagSeconds": self.max_lag_seconds,
            "flavor": self.flavor,
            "version": self.version,
            "image": self.image,
            "backupImage": self.backup_image,
            "configMapName": self.config_map_name,
            "secretName": self.secret_name,
            "rootPassword": self.root_password,
            "replicationPassword": self.replication_password,
            "backupPassword": self.backup_password,
        }

    @staticmethod
    def _namespace(
        cluster: str, name: str, create: bool, retain: bool, opts: pulumi.ResourceOptions
    ) -> pulumi.Output[str]:
        """The namespace's name, as an Output that waits for the namespace when the component creates it."""
        if not create:
            return pulumi.Output.from_input(name)
        namespace = k8s.core.v1.Namespace(
            names.namespace_resource(cluster),
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=name,
                labels={**names.labels(cluster), **names.POD_SECURITY_LABELS},
            ),
            # Deleting a namespace deletes every volume in it, whatever the retention policy says.
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(retain_on_delete=retain)),
        )
        return namespace.metadata.name
