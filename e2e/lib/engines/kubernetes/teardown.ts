/**
 * Stopping the suite's cluster in the order that leaves nothing behind: workloads first (so the kubelet tears down
 * their networks and volumes), then kube-proxy and its rules, the controllers and the kubelet, the containers,
 * containerd and its shims, the API server (last among the components: with live watches it waits a minute on
 * SIGTERM, stopped last it exits in seconds), etcd; then the mounts under the cluster's directory and everything
 * the host snapshot says was not there before. Every step is bounded; a failed step does not stop the later ones.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { poll, run } from "../../core/proc";
import type { KubernetesToolchain } from "../../toolchain/kubernetes";
import type { KubeApi } from "./api";
import { clusterPaths, proxyArgs, type ClusterLayout } from "./configs";
import { awaitGone, signalProcess, type Daemon } from "./daemon";
import { restoreHost, type HostSnapshot } from "./hostState";

/** A cluster's running state: what the teardown stops and puts back (kept as each part starts). */
export interface RunningCluster {
  layout: ClusterLayout;
  snapshot: HostSnapshot;
  daemons: Partial<Record<string, Daemon>>;
  api?: KubeApi;
  toolchain: KubernetesToolchain;
  log: (text: string) => void;
}

/** The workload kinds whose controllers would make new pods while the pods are deleted. */
const WORKLOADS = ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"];

/** Deletes every workload and pod in every namespace and waits (at most 90 s) until no pod is left. */
async function deleteWorkloads(state: RunningCluster): Promise<string> {
  const api = state.api;
  if (!api || !state.daemons["kube-apiserver"] || state.daemons["kube-apiserver"].exited) return "no API server";
  for (const kind of WORKLOADS)
    for (const item of await api.list(kind).catch(() => []))
      await api.remove(kind, item.metadata.namespace, item.metadata.name).catch(() => undefined);
  const gone = await poll(
    async () => {
      const pods = await api.list("Pod");
      for (const pod of pods.filter((p) => !p.metadata.deletionTimestamp))
        await api.remove("Pod", pod.metadata.namespace, pod.metadata.name, 5).catch(() => undefined);
      return pods.length === 0 ? true : undefined;
    },
    90,
    1000,
  );
  return gone ? "no pods left" : "pods still listed after 90 s";
}

/** Kills and deletes every task and container left in containerd's `k8s.io` namespace. */
async function removeContainers(state: RunningCluster): Promise<number> {
  const socket = clusterPaths(state.layout.dir).containerdSocket;
  const ctr = (args: string[]) =>
    run("ctr", ["--address", socket, "-n", "k8s.io", ...args], { allowFailure: true, timeoutSeconds: 60 });
  const ids = (await ctr(["containers", "ls", "-q"])).stdout.split("\n").filter(Boolean);
  for (const id of ids) {
    await ctr(["tasks", "kill", "-s", "SIGKILL", id]);
    await ctr(["tasks", "delete", "-f", id]);
    await ctr(["containers", "delete", id]);
  }
  return ids.length;
}

/** The process ids of containerd shims serving the containerd at `socket` (their command line names it). */
export function shimsOf(socket: string): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = fs.readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      if (path.basename(argv[0]).startsWith("containerd-shim") && argv.includes(socket)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** Mount points at or under `dir`, deepest first (from /proc/self/mountinfo; spaces there are written as \040). */
export function mountsUnder(mountinfo: string, dir: string): string[] {
  return mountinfo
    .split("\n")
    .map((line) => line.split(" ")[4])
    .filter((m): m is string => Boolean(m))
    .map((m) => m.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((m) => m === dir || m.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

/** Unmounts what is still mounted under the cluster's directory (lazily when busy). */
async function unmountAll(dir: string): Promise<number> {
  const mounts = mountsUnder(fs.readFileSync("/proc/self/mountinfo", "utf8"), dir);
  for (const m of mounts) {
    const r = await run("umount", [m], { allowFailure: true, timeoutSeconds: 30 });
    if (r.status !== 0) await run("umount", ["-l", m], { allowFailure: true, timeoutSeconds: 30 });
  }
  return mounts.length;
}

/**
 * Stops the cluster and puts the host back; logs each step. Throws at the end when the host could not be put back
 * as it was, so the suite reports it.
 */
export async function stopCluster(state: RunningCluster): Promise<void> {
  const { daemons, log, layout } = state;
  const step = async (what: string, body: () => Promise<string | number | void>) => {
    try {
      const result = await body();
      log(`cluster teardown: ${what}${result !== undefined ? `: ${result}` : ""}`);
    } catch (err) {
      log(`cluster teardown: ${what} failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  const stop = (name: string, grace: number) => step(`stop ${name}`, async () => daemons[name]?.stop(grace));
  const t0 = performance.now();
  await step("delete workloads", () => deleteWorkloads(state));
  await stop("kube-proxy", 10);
  if (daemons["kube-proxy"])
    await step("kube-proxy --cleanup", async () => {
      const bin = path.join(state.toolchain.binDir, "kube-proxy");
      const args = [...proxyArgs(layout).filter((a) => a.startsWith("--proxy-mode")), "--cleanup"];
      return (await run(bin, args, { allowFailure: true, timeoutSeconds: 60 })).status === 0 ? "done" : "failed";
    });
  await stop("kube-scheduler", 10);
  await stop("kube-controller-manager", 10);
  await stop("kubelet", 15);
  if (daemons.containerd && !daemons.containerd.exited)
    await step("remove containers", async () => `${await removeContainers(state)} removed`);
  await stop("containerd", 15);
  await step("stop leftover shims", async () => {
    const shims = shimsOf(clusterPaths(layout.dir).containerdSocket);
    for (const pid of shims) signalProcess(pid, "SIGKILL");
    for (const pid of shims) await awaitGone(pid, 5);
    return `${shims.length} killed`;
  });
  await stop("kube-apiserver", 15);
  await stop("etcd", 15);
  state.api?.close();
  await step("unmount", async () => `${await unmountAll(layout.dir)} mounts`);
  let restored: string[] = [];
  try {
    restored = await restoreHost(state.snapshot, layout.bridge);
  } finally {
    log(`cluster teardown: host restored (${restored.join(", ") || "nothing to undo"})`);
    log(`cluster stopped in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
}
