/**
 * The suite's single-node Kubernetes cluster: etcd (Debian's etcd-server), its own containerd (the docker.io
 * package's, with the CRI plugin), runc, the CNI plugins (containernetworking-plugins) and the five components the
 * suite builds (toolchain/kubernetes.ts), every one started by the suite with its state under one directory, every
 * wait bounded, and everything stopped and put back at the end, also on failure (teardown.ts).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { freeHostPorts } from "../../core/ports";
import { poll, run, works } from "../../core/proc";
import type { KubernetesToolchain } from "../../toolchain/kubernetes";
import { KubeApi } from "./api";
import {
  addLocalVolumes,
  awaitDeployment,
  corednsManifests,
  nodeReady,
  resolveThroughCoredns,
  smokeDeployment,
  storageClassManifest,
} from "./addons";
import {
  DEFAULT_NETWORK,
  PORT_NAMES,
  apiserverArgs,
  clusterPaths,
  cniConflist,
  containerdConfig,
  controllerManagerArgs,
  etcdArgs,
  kubeletArgs,
  kubeletConfig,
  proxyArgs,
  schedulerArgs,
  type ClusterLayout,
  type ClusterPorts,
} from "./configs";
import { Daemon } from "./daemon";
import { leftovers, snapshotHost } from "./hostState";
import { importImages } from "./images";
import { kubeconfigText, makePki } from "./pki";
import { stopCluster, type RunningCluster } from "./teardown";

/** What the cluster needs from the suite. */
export interface ClusterOptions {
  toolchain: KubernetesToolchain;
  /** An empty directory for everything the cluster keeps (removed by the suite's work-directory cleanup). */
  dir: string;
  dockerHost: string;
  /** The pause and CoreDNS images, the smoke Deployment's image (serves HTTP on port 80), the program's images. */
  images: { pause: string; coredns: string; smoke: string; program: string[] };
  log: (text: string) => void;
}

/** How the cluster came up, for the `k8s:cluster-ready` check and the report. */
export interface ClusterReadiness {
  /** From the first process started to the node Ready, CoreDNS answering and the smoke Deployment Ready. */
  startSeconds: number;
  nodeReadySeconds: number;
  imageImportSeconds: number;
  /** What CoreDNS answered for the `kubernetes` Service's name. */
  dnsAnswer: string[];
  smokeReadySeconds: number;
  serverVersion: string;
}

/** A started cluster. */
export interface KubernetesCluster {
  /** The admin kubeconfig's file (what the stacks' `kubernetes:kubeconfig` names). */
  kubeconfig: string;
  api: KubeApi;
  nodeName: string;
  readiness: ClusterReadiness;
  /** `ctr -n k8s.io <args>` against the cluster's containerd. */
  ctr(args: string[]): Promise<string>;
  /** Makes `count` more local PersistentVolumes; returns their names. */
  addVolumes(count: number): Promise<string[]>;
  /** Stops everything and puts the host back (idempotent). */
  stop(): Promise<void>;
}

/** The node's non-loopback address: the source address of the route to an outside address. */
async function nodeAddress(): Promise<string> {
  const route = await run("ip", ["-4", "route", "get", "192.0.2.255"], { allowFailure: true, timeoutSeconds: 10 });
  const src = /\bsrc (\d+\.\d+\.\d+\.\d+)/.exec(route.stdout)?.[1];
  if (src && !src.startsWith("127.")) return src;
  const found = Object.values(os.networkInterfaces())
    .flat()
    .find((a) => a && a.family === "IPv4" && !a.internal);
  if (!found) throw new Error("the host has no non-loopback IPv4 address for the API server to advertise");
  return found.address;
}

/** Refuses to start where a tool is missing or the cluster's ranges overlap a host route. */
async function preflight(toolchain: KubernetesToolchain): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error("the Kubernetes phase runs as root (kubelet, containerd, iptables)");
  const missing = [
    ["etcd", "etcd-server"],
    ["containerd", "docker.io"],
    ["runc", "runc"],
    ["ctr", "docker.io"],
    ["iptables", "iptables"],
    ["openssl", "openssl", "version"],
  ].filter(([tool, , args]) => !works(tool, [args ?? "--version"]));
  for (const plugin of ["bridge", "host-local", "loopback", "portmap", "firewall"])
    if (!fs.existsSync(`/usr/lib/cni/${plugin}`))
      missing.push([`/usr/lib/cni/${plugin}`, "containernetworking-plugins"]);
  if (missing.length)
    throw new Error(
      `the cluster needs ${missing.map(([t]) => t).join(", ")}: apt-get install -y ${[...new Set(missing.map(([, p]) => p))].join(" ")}`,
    );
  if (!fs.existsSync(path.join(toolchain.binDir, "kube-apiserver")))
    throw new Error(`no Kubernetes binaries in ${toolchain.binDir}`);
  const routes = (await run("ip", ["-4", "route"], { timeoutSeconds: 10 })).stdout;
  for (const cidr of [DEFAULT_NETWORK.podCidr, DEFAULT_NETWORK.serviceCidr]) {
    const prefix = cidr.split(".").slice(0, 2).join(".");
    const clash = routes.split("\n").find((r) => r.startsWith(`${prefix}.`));
    if (clash) throw new Error(`the host routes ${clash.trim()}, which overlaps the cluster's ${cidr}`);
  }
}

/** Starts one component and keeps it in the running state (so the teardown stops it even when a wait fails). */
function startDaemon(state: RunningCluster, name: string, file: string, args: string[]): Daemon {
  const logs = clusterPaths(state.layout.dir).logs;
  const daemon = Daemon.start(name, file, args, path.join(logs, `${name}.log`));
  state.daemons[name] = daemon;
  return daemon;
}

/** Polls `probe` at most `seconds` (4 times a second) while `daemon` runs; throws with its log otherwise. */
async function awaitUp(daemon: Daemon, seconds: number, what: string, probe: () => Promise<boolean>): Promise<void> {
  const ok = await poll(
    async () => {
      daemon.assertRunning();
      return (await probe()) ? true : undefined;
    },
    seconds * 4,
    250,
  );
  daemon.assertRunning();
  if (!ok) throw new Error(`${daemon.name}: ${what} not within ${seconds} s; its log ends:\n${daemon.tail()}`);
}

/** etcd, containerd and the image import, the API server, then the controllers. */
async function startControlPlane(
  state: RunningCluster,
  options: ClusterOptions,
  pki: Awaited<ReturnType<typeof makePki>>,
) {
  const { layout } = state;
  const p = clusterPaths(layout.dir);
  const bin = (c: string) => path.join(options.toolchain.binDir, c);
  const etcd = startDaemon(state, "etcd", "etcd", etcdArgs(layout));
  const containerd = startDaemon(state, "containerd", "containerd", ["--config", p.containerdConfig]);
  await awaitUp(etcd, 30, "/health", async () => {
    const r = await fetch(`http://127.0.0.1:${layout.ports.etcdClient}/health`, { signal: AbortSignal.timeout(2000) });
    return r.ok;
  });
  await awaitUp(
    containerd,
    30,
    "its socket",
    async () =>
      (await run("ctr", ["--address", p.containerdSocket, "version"], { allowFailure: true, timeoutSeconds: 5 }))
        .status === 0,
  );
  const imported = importImages(
    options.dockerHost,
    p.containerdSocket,
    [options.images.pause, options.images.coredns, options.images.smoke, ...options.images.program],
    layout.dir,
  );
  const apiserver = startDaemon(state, "kube-apiserver", bin("kube-apiserver"), apiserverArgs(layout, pki));
  const api = state.api!;
  await awaitUp(apiserver, 120, "/readyz", async () => (await api.request("GET", "/readyz")).status === 200);
  startDaemon(state, "kube-controller-manager", bin("kube-controller-manager"), controllerManagerArgs(layout, pki));
  startDaemon(state, "kube-scheduler", bin("kube-scheduler"), schedulerArgs(layout));
  return imported;
}

/** Starts the cluster and waits until it runs a local image's Deployment; stops what it started when that fails. */
export async function startCluster(options: ClusterOptions): Promise<KubernetesCluster> {
  const { toolchain, log } = options;
  await preflight(toolchain);
  const snapshot = await snapshotHost();
  const found = leftovers(snapshot, DEFAULT_NETWORK.bridge);
  if (found.length)
    throw new Error(`another cluster runs here or left ${found.join(", ")}: one cluster per machine at a time`);
  const ports = await freeHostPorts(PORT_NAMES.length);
  const layout: ClusterLayout = {
    dir: options.dir,
    nodeName: "supabase-e2e-node",
    nodeIp: await nodeAddress(),
    podCidr: DEFAULT_NETWORK.podCidr,
    serviceCidr: DEFAULT_NETWORK.serviceCidr,
    bridge: DEFAULT_NETWORK.bridge,
    ports: Object.fromEntries(PORT_NAMES.map((n, i) => [n, ports[i]])) as unknown as ClusterPorts,
    pauseImage: options.images.pause,
  };
  const state: RunningCluster = { layout, snapshot, daemons: {}, toolchain, log };
  try {
    return await bringUp(state, options);
  } catch (err) {
    await stopCluster(state).catch((e) => log(`stopping the failed cluster: ${e instanceof Error ? e.message : e}`));
    throw err;
  }
}

/** Writes the configs, starts every process in order and checks the cluster runs workloads. */
async function bringUp(state: RunningCluster, options: ClusterOptions): Promise<KubernetesCluster> {
  const { layout, log } = state;
  const p = clusterPaths(layout.dir);
  for (const d of [
    p.logs,
    p.cniConfDir,
    p.kubeletRoot,
    p.volumePluginDir,
    p.podLogs,
    p.volumes,
    path.dirname(p.containerdConfig),
  ])
    fs.mkdirSync(d, { recursive: true });
  const pki = await makePki(p.pki, layout.nodeIp, DEFAULT_NETWORK.serviceIp);
  const server = `https://${layout.nodeIp}:${layout.ports.apiserver}`;
  fs.writeFileSync(p.kubeconfig, kubeconfigText(pki, server), { mode: 0o600 });
  fs.writeFileSync(p.containerdConfig, containerdConfig(layout));
  fs.writeFileSync(path.join(p.cniConfDir, "10-supabase-e2e.conflist"), cniConflist(layout));
  fs.writeFileSync(p.kubeletConfig, kubeletConfig(layout, pki));
  const read = (f: string) => fs.readFileSync(f, "utf8");
  state.api = new KubeApi({ server, ca: read(pki.caCert), cert: read(pki.adminCert), key: read(pki.adminKey) });
  const api = state.api;
  const t0 = performance.now();
  const since = () => Math.round((performance.now() - t0) / 100) / 10;
  log(`starting the cluster in ${layout.dir} (API server ${server})`);
  const imported = await startControlPlane(state, options, pki);
  await api.apply(storageClassManifest());
  for (const manifest of corednsManifests(options.images.coredns)) await api.apply(manifest);
  const imageImportSeconds = await imported;
  log(`images imported into containerd in ${imageImportSeconds} s`);
  const bin = (c: string) => path.join(options.toolchain.binDir, c);
  const kubelet = startDaemon(state, "kubelet", bin("kubelet"), kubeletArgs(layout));
  startDaemon(state, "kube-proxy", bin("kube-proxy"), proxyArgs(layout));
  await awaitUp(kubelet, 90, `node ${layout.nodeName} Ready`, () => nodeReady(api, layout.nodeName));
  const nodeReadySeconds = since();
  await addLocalVolumes(api, p.volumes, layout.nodeName, 2);
  await awaitDeployment(api, "kube-system", "coredns", 120);
  const dnsAnswer = await poll(() => resolveThroughCoredns().then((a) => (a.length ? a : undefined)), 30, 1000);
  if (!dnsAnswer) throw new Error("CoreDNS did not answer for kubernetes.default through its ClusterIP within 30 s");
  await api.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: "supabase-e2e-smoke" } });
  await api.apply(smokeDeployment(options.images.smoke, "supabase-e2e-smoke"));
  const smokeReadySeconds = await awaitDeployment(api, "supabase-e2e-smoke", "smoke", 120);
  const startSeconds = since();
  await api.remove("Namespace", undefined, "supabase-e2e-smoke");
  const serverVersion = String((await api.get<{ gitVersion: string }>("/version")).gitVersion);
  log(`cluster ${serverVersion} up in ${startSeconds} s (node Ready after ${nodeReadySeconds} s)`);
  let stopped: Promise<void> | undefined;
  return {
    kubeconfig: p.kubeconfig,
    api,
    nodeName: layout.nodeName,
    readiness: { startSeconds, nodeReadySeconds, imageImportSeconds, dnsAnswer, smokeReadySeconds, serverVersion },
    ctr: async (args) =>
      (await run("ctr", ["--address", p.containerdSocket, "-n", "k8s.io", ...args], { timeoutSeconds: 120 })).stdout,
    addVolumes: (count) => addLocalVolumes(api, p.volumes, layout.nodeName, count),
    stop: () => (stopped ??= stopCluster(state)),
  };
}
