/**
 * What each process of the suite's single-node cluster is given: containerd's config, the CNI network, the kubelet's
 * config and every component's flags, all pure functions of one {@link ClusterLayout}. Everything lives under the
 * layout's directory; nothing listens on a fixed port (each port is picked free), and the settings that keep the
 * host as it was are here, each with its reason.
 */
import * as path from "node:path";
import { stringify as toYaml } from "yaml";
import type { ClusterPki } from "./pki";

/** The ports the cluster's processes listen on, each picked free on this host. */
export interface ClusterPorts {
  etcdClient: number;
  etcdPeer: number;
  apiserver: number;
  controllerManager: number;
  scheduler: number;
  kubelet: number;
  kubeletHealthz: number;
  proxyHealthz: number;
  proxyMetrics: number;
}

/** The names of the host ports, in the order {@link ClusterPorts} is made from a list. */
export const PORT_NAMES: ReadonlyArray<keyof ClusterPorts> = [
  "etcdClient",
  "etcdPeer",
  "apiserver",
  "controllerManager",
  "scheduler",
  "kubelet",
  "kubeletHealthz",
  "proxyHealthz",
  "proxyMetrics",
];

/** Where the cluster lives and how it is addressed. */
export interface ClusterLayout {
  /** Everything the cluster writes on its own goes under here. */
  dir: string;
  nodeName: string;
  /** The node's non-loopback address (see {@link apiserverArgs}). */
  nodeIp: string;
  /** The pods' addresses (the one node's range). */
  podCidr: string;
  /** The Services' ClusterIPs; its first address is the `kubernetes` Service's, {@link CLUSTER_DNS_IP} CoreDNS's. */
  serviceCidr: string;
  /** The Linux bridge the CNI bridge plugin makes for the pods. */
  bridge: string;
  ports: ClusterPorts;
  /** containerd's pod sandbox image (the suite's pause image, imported before the kubelet starts). */
  pauseImage: string;
}

/** CoreDNS's ClusterIP in {@link DEFAULT_NETWORK}'s Service range, as the kubelet tells every pod. */
export const CLUSTER_DNS_IP = "10.96.0.10";
/** The cluster's DNS domain. */
export const CLUSTER_DOMAIN = "cluster.local";

/** The pod and Service ranges and the bridge's name (checked against the host's routes before the cluster starts). */
export const DEFAULT_NETWORK = {
  podCidr: "10.244.0.0/24",
  serviceCidr: "10.96.0.0/16",
  serviceIp: "10.96.0.1",
  bridge: "supae2e0",
} as const;

/** The files and directories of a layout. */
export function clusterPaths(dir: string) {
  const at = (...parts: string[]) => path.join(dir, ...parts);
  return {
    etcdData: at("etcd"),
    containerdRoot: at("containerd", "root"),
    containerdState: at("containerd", "state"),
    containerdConfig: at("containerd", "config.toml"),
    containerdSocket: at("containerd", "containerd.sock"),
    cniConfDir: at("cni", "net.d"),
    cniIpamDir: at("cni", "ipam"),
    kubeletRoot: at("kubelet"),
    kubeletConfig: at("kubelet.yaml"),
    kubeconfig: at("admin.kubeconfig"),
    pki: at("pki"),
    apiserverCertDir: at("apiserver"),
    controllerManagerDir: at("controller-manager"),
    schedulerDir: at("scheduler"),
    volumePluginDir: at("volume-plugins"),
    podLogs: at("pod-logs"),
    logs: at("logs"),
    volumes: at("volumes"),
  };
}

/**
 * containerd's config: its own root, state and sockets under the layout's directory, the CRI plugin with runc
 * (cgroupfs, as the kubelet) and the pause image imported by the suite. `restrict_oom_score_adj`: root here lacks
 * CAP_SYS_RESOURCE, and without it every sandbox fails when the CRI asks runc for an oom_score_adj below the
 * containerd's own. `netns_mounts_under_state_dir`: the pods' network namespaces are mounted under the state
 * directory, not in /var/run/netns.
 */
export function containerdConfig(layout: ClusterLayout): string {
  const p = clusterPaths(layout.dir);
  const cri = '[plugins."io.containerd.grpc.v1.cri"]';
  return [
    "version = 2",
    `root = ${JSON.stringify(p.containerdRoot)}`,
    `state = ${JSON.stringify(p.containerdState)}`,
    "[grpc]",
    `  address = ${JSON.stringify(p.containerdSocket)}`,
    "[ttrpc]",
    `  address = ${JSON.stringify(`${p.containerdSocket}.ttrpc`)}`,
    // The opt plugin would install into /opt/containerd, outside the layout's directory.
    '[plugins."io.containerd.internal.v1.opt"]',
    `  path = ${JSON.stringify(path.join(layout.dir, "containerd", "opt"))}`,
    cri,
    `  sandbox_image = ${JSON.stringify(layout.pauseImage)}`,
    "  restrict_oom_score_adj = true",
    "  netns_mounts_under_state_dir = true",
    '  stream_server_address = "127.0.0.1"',
    `${cri.slice(0, -1)}.containerd]`,
    '  snapshotter = "overlayfs"',
    '  default_runtime_name = "runc"',
    `${cri.slice(0, -1)}.containerd.runtimes.runc]`,
    '  runtime_type = "io.containerd.runc.v2"',
    `${cri.slice(0, -1)}.containerd.runtimes.runc.options]`,
    "  SystemdCgroup = false",
    `${cri.slice(0, -1)}.cni]`,
    '  bin_dir = "/usr/lib/cni"',
    `  conf_dir = ${JSON.stringify(p.cniConfDir)}`,
    "",
  ].join("\n");
}

/**
 * The pods' network (containerd loads only the first conflist): a bridge with the node's pod range (host-local
 * addresses kept under the layout's directory), port mappings, and the firewall plugin, which lets the pods'
 * traffic through the host's FORWARD chain (dockerd leaves its policy DROP).
 */
export function cniConflist(layout: ClusterLayout): string {
  return JSON.stringify(
    {
      cniVersion: "0.4.0",
      name: "supabase-e2e",
      plugins: [
        {
          type: "bridge",
          bridge: layout.bridge,
          isGateway: true,
          ipMasq: true,
          hairpinMode: true,
          ipam: {
            type: "host-local",
            ranges: [[{ subnet: layout.podCidr }]],
            routes: [{ dst: "0.0.0.0/0" }],
            dataDir: clusterPaths(layout.dir).cniIpamDir,
          },
        },
        { type: "portmap", capabilities: { portMappings: true } },
        { type: "firewall" },
      ],
    },
    null,
    2,
  );
}

/**
 * The kubelet's config. cgroupfs (no systemd here) on cgroup v1, which Kubernetes 1.34 still runs on when told
 * (`failCgroupV1: false`); swap tolerated; client certificates of the cluster CA accepted, every authenticated
 * request allowed (a one-user test cluster); image garbage collection off, since the suite's images are imported
 * once and never pulled again; eviction thresholds low, so a busy CI disk does not evict the pods under test.
 */
export function kubeletConfig(layout: ClusterLayout, pki: ClusterPki): string {
  const p = clusterPaths(layout.dir);
  return toYaml({
    apiVersion: "kubelet.config.k8s.io/v1beta1",
    kind: "KubeletConfiguration",
    address: layout.nodeIp,
    port: layout.ports.kubelet,
    readOnlyPort: 0,
    healthzBindAddress: "127.0.0.1",
    healthzPort: layout.ports.kubeletHealthz,
    cgroupDriver: "cgroupfs",
    failCgroupV1: false,
    failSwapOn: false,
    containerRuntimeEndpoint: `unix://${p.containerdSocket}`,
    clusterDNS: [CLUSTER_DNS_IP],
    clusterDomain: CLUSTER_DOMAIN,
    volumePluginDir: p.volumePluginDir,
    podLogsDir: p.podLogs,
    resolvConf: "/etc/resolv.conf",
    authentication: {
      anonymous: { enabled: false },
      webhook: { enabled: false },
      x509: { clientCAFile: pki.caCert },
    },
    authorization: { mode: "AlwaysAllow" },
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    evictionHard: {
      "memory.available": "100Mi",
      "nodefs.available": "1%",
      "nodefs.inodesFree": "1%",
      "imagefs.available": "1%",
    },
    serializeImagePulls: false,
    maxPods: 110,
  });
}

/** etcd on the loopback, its data under the layout's directory. */
export function etcdArgs(layout: ClusterLayout): string[] {
  const { etcdClient, etcdPeer } = layout.ports;
  return [
    "--name=supabase-e2e",
    `--data-dir=${clusterPaths(layout.dir).etcdData}`,
    `--listen-client-urls=http://127.0.0.1:${etcdClient}`,
    `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
    `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
    `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
    `--initial-cluster=supabase-e2e=http://127.0.0.1:${etcdPeer}`,
    "--logger=zap",
  ];
}

/**
 * kube-apiserver. It advertises and binds the node's non-loopback address: with 127.0.0.1 the `kubernetes`
 * Service gets no endpoints ("may not be in the loopback range"), so nothing in a pod reaches the API.
 */
export function apiserverArgs(layout: ClusterLayout, pki: ClusterPki): string[] {
  return [
    `--etcd-servers=http://127.0.0.1:${layout.ports.etcdClient}`,
    `--advertise-address=${layout.nodeIp}`,
    `--bind-address=${layout.nodeIp}`,
    `--secure-port=${layout.ports.apiserver}`,
    `--service-cluster-ip-range=${layout.serviceCidr}`,
    `--cert-dir=${clusterPaths(layout.dir).apiserverCertDir}`,
    `--client-ca-file=${pki.caCert}`,
    `--tls-cert-file=${pki.serverCert}`,
    `--tls-private-key-file=${pki.serverKey}`,
    `--kubelet-client-certificate=${pki.adminCert}`,
    `--kubelet-client-key=${pki.adminKey}`,
    `--service-account-issuer=https://kubernetes.default.svc.${CLUSTER_DOMAIN}`,
    `--service-account-key-file=${pki.serviceAccountPub}`,
    `--service-account-signing-key-file=${pki.serviceAccountKey}`,
    "--authorization-mode=RBAC",
    "--anonymous-auth=false",
    "--profiling=false",
  ];
}

/** The flags both schedulers and controllers take: the admin kubeconfig, no leader election, a loopback port. */
function controlPlaneArgs(layout: ClusterLayout, port: number, certDir: string): string[] {
  const { kubeconfig } = clusterPaths(layout.dir);
  return [
    `--kubeconfig=${kubeconfig}`,
    `--authentication-kubeconfig=${kubeconfig}`,
    `--authorization-kubeconfig=${kubeconfig}`,
    "--leader-elect=false",
    "--bind-address=127.0.0.1",
    `--secure-port=${port}`,
    `--cert-dir=${certDir}`,
    "--profiling=false",
  ];
}

/**
 * kube-controller-manager: it signs the pods' service-account tokens and publishes the CA to every namespace
 * (without it no `default` ServiceAccount exists and pods are refused); node ranges are the CNI's, not its.
 */
export function controllerManagerArgs(layout: ClusterLayout, pki: ClusterPki): string[] {
  const p = clusterPaths(layout.dir);
  return [
    ...controlPlaneArgs(layout, layout.ports.controllerManager, p.controllerManagerDir),
    `--service-account-private-key-file=${pki.serviceAccountKey}`,
    `--root-ca-file=${pki.caCert}`,
    `--service-cluster-ip-range=${layout.serviceCidr}`,
    "--allocate-node-cidrs=false",
    "--use-service-account-credentials=false",
    `--flex-volume-plugin-dir=${p.volumePluginDir}`,
  ];
}

/** kube-scheduler. */
export function schedulerArgs(layout: ClusterLayout): string[] {
  return controlPlaneArgs(layout, layout.ports.scheduler, clusterPaths(layout.dir).schedulerDir);
}

/** The kubelet: its config, its root and certificates under the layout's directory, the node's address. */
export function kubeletArgs(layout: ClusterLayout): string[] {
  const p = clusterPaths(layout.dir);
  return [
    `--config=${p.kubeletConfig}`,
    `--kubeconfig=${p.kubeconfig}`,
    `--root-dir=${p.kubeletRoot}`,
    `--cert-dir=${path.join(p.kubeletRoot, "pki")}`,
    `--node-ip=${layout.nodeIp}`,
    `--hostname-override=${layout.nodeName}`,
  ];
}

/**
 * kube-proxy in iptables mode. The conntrack and localhost-NodePort flags keep it from changing host sysctls
 * (nf_conntrack_max, the TCP timeouts, route_localnet) that other tenants of a CI machine rely on.
 */
export function proxyArgs(layout: ClusterLayout): string[] {
  return [
    `--kubeconfig=${clusterPaths(layout.dir).kubeconfig}`,
    "--proxy-mode=iptables",
    `--cluster-cidr=${layout.podCidr}`,
    `--hostname-override=${layout.nodeName}`,
    `--healthz-bind-address=127.0.0.1:${layout.ports.proxyHealthz}`,
    `--metrics-bind-address=127.0.0.1:${layout.ports.proxyMetrics}`,
    "--conntrack-max-per-core=0",
    "--conntrack-tcp-timeout-established=0",
    "--conntrack-tcp-timeout-close-wait=0",
    "--iptables-localhost-nodeports=false",
  ];
}
