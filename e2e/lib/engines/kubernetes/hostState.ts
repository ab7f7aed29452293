/**
 * What a cluster changes on the host outside its own directory, recorded before it starts and put back after it
 * stops: the sysctls the kubelet tunes, the directories the kubelet and the CNI library write at fixed paths, the
 * iptables chains of kube-proxy, the kubelet and the CNI plugins, the `kubepods` cgroups, the pods' bridge. Only
 * what was absent before is removed; a CI machine is shared.
 */
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { run } from "../../core/proc";
import { signalProcess } from "./daemon";

/**
 * The sysctls the kubelet sets at start (pkg/kubelet/cm/container_manager_linux.go, setupKernelTunables) and
 * those kube-proxy and the CNI bridge plugin would set if their flags allowed.
 */
export const TUNED_SYSCTLS = [
  "vm/overcommit_memory",
  "vm/panic_on_oom",
  "kernel/panic",
  "kernel/panic_on_oops",
  "kernel/keys/root_maxkeys",
  "kernel/keys/root_maxbytes",
  "net/ipv4/ip_forward",
  "net/ipv4/conf/all/route_localnet",
  "net/bridge/bridge-nf-call-iptables",
  "net/netfilter/nf_conntrack_max",
];

/** Paths the kubelet, containerd's CNI library and the shims write whatever their root directories are. */
export const FIXED_PATHS = [
  "/var/lib/kubelet",
  "/var/log/containers",
  "/var/log/pods",
  "/var/lib/cni",
  "/run/containerd",
  "/etc/cni",
  "/opt/cni",
];

/** Chains of these prefixes that were not there before are the cluster's. */
const CLUSTER_CHAIN = /^(KUBE-|CNI-)/;
const TABLES = ["filter", "nat", "mangle"];
const FAMILIES = ["iptables", "ip6tables"];

/** The host as it was before the cluster. */
export interface HostSnapshot {
  sysctls: Record<string, string>;
  existing: Record<string, boolean>;
  /** Entries of /run/containerd/s (the shims' sockets of every containerd on the host). */
  shimSockets: string[];
  /** `<family> <table>` → chain names. */
  chains: Record<string, string[]>;
  /** Cgroup hierarchies (`/sys/fs/cgroup/<name>`) that had a `kubepods` cgroup. */
  kubepods: string[];
}

const readOr = (file: string): string | undefined => {
  try {
    return fs.readFileSync(file, "utf8").trim();
  } catch {
    return undefined;
  }
};

/** The chain names of an `iptables-save` text (`:NAME POLICY [..]` lines). */
export function chainNames(saved: string): string[] {
  return saved
    .split("\n")
    .filter((l) => l.startsWith(":"))
    .map((l) => l.slice(1).split(" ")[0]);
}

/**
 * The commands that remove a chain: first every rule in other chains that jumps to it (`-A X … -j CHAIN` becomes
 * `-D X … -j CHAIN`), then its rules, then the chain. `rules` is `iptables -S` output of the table.
 */
export function chainRemoval(rules: string, chain: string): string[][] {
  const jumps = rules
    .split("\n")
    .filter((l) => l.startsWith("-A ") && new RegExp(`\\s(-j|-g|--jump|--goto) ${chain}(\\s|$)`).test(l))
    .map((l) => ["-D", ...splitRule(l.slice(3))]);
  return [...jumps, ["-F", chain], ["-X", chain]];
}

/** The words of an `iptables -S` rule, quoted arguments (comments) kept whole. */
export function splitRule(rule: string): string[] {
  return [...rule.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)].map((m) => (m[1] !== undefined ? m[1] : m[2]));
}

async function saved(family: string, table: string): Promise<string | undefined> {
  const r = await run(`${family}-save`, ["-t", table], { allowFailure: true, timeoutSeconds: 30 });
  return r.status === 0 ? r.stdout : undefined;
}

/** Cgroup hierarchies of the host (cgroup v1: one directory per controller). */
function hierarchies(): string[] {
  const root = "/sys/fs/cgroup";
  return fs.existsSync(root)
    ? fs
        .readdirSync(root, { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => path.join(root, e.name))
    : [];
}

/** Whether nothing listens on a Unix socket any more (a connection is refused). */
function staleSocket(file: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(file);
    socket.setTimeout(2000);
    socket.once("connect", () => (socket.destroy(), resolve(false)));
    socket.once("timeout", () => (socket.destroy(), resolve(false)));
    socket.once("error", (err: NodeJS.ErrnoException) => resolve(err.code === "ECONNREFUSED"));
  });
}

/** Records what the cluster may change. */
export async function snapshotHost(): Promise<HostSnapshot> {
  const chains: Record<string, string[]> = {};
  for (const family of FAMILIES)
    for (const table of TABLES) {
      const text = await saved(family, table);
      if (text !== undefined) chains[`${family} ${table}`] = chainNames(text);
    }
  return {
    sysctls: Object.fromEntries(
      TUNED_SYSCTLS.flatMap((s) => {
        const v = readOr(`/proc/sys/${s}`);
        return v === undefined ? [] : [[s, v]];
      }),
    ),
    existing: Object.fromEntries(FIXED_PATHS.map((p) => [p, fs.existsSync(p)])),
    shimSockets: fs.existsSync("/run/containerd/s") ? fs.readdirSync("/run/containerd/s") : [],
    chains,
    kubepods: hierarchies().filter((h) => fs.existsSync(path.join(h, "kubepods"))),
  };
}

/** What is there now that a cluster leaves and the snapshot did not have: refuses to start on top of another. */
export function leftovers(snapshot: HostSnapshot, bridge: string): string[] {
  return [
    ...snapshot.kubepods.map((h) => `${h}/kubepods`),
    ...(fs.existsSync(`/sys/class/net/${bridge}`) ? [`the network interface ${bridge}`] : []),
  ];
}

/** Removes a cgroup tree depth first, killing what still runs in it (the cluster's own processes). */
async function removeCgroup(dir: string): Promise<void> {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true }))
    if (entry.isDirectory()) await removeCgroup(path.join(dir, entry.name));
  const procs = (readOr(path.join(dir, "cgroup.procs")) ?? "").split("\n").filter(Boolean).map(Number);
  for (const pid of procs) signalProcess(pid, "SIGKILL");
  for (let i = 0; i < 20; i++) {
    try {
      fs.rmdirSync(dir);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`could not remove the cgroup ${dir}`);
}

/** Deletes the cluster's iptables chains (those of {@link CLUSTER_CHAIN} the snapshot did not have). */
async function removeChains(snapshot: HostSnapshot): Promise<string[]> {
  const removed: string[] = [];
  for (const family of FAMILIES)
    for (const table of TABLES) {
      const before = snapshot.chains[`${family} ${table}`];
      const now = await saved(family, table);
      if (before === undefined || now === undefined) continue;
      const added = chainNames(now).filter((c) => CLUSTER_CHAIN.test(c) && !before.includes(c));
      if (!added.length) continue;
      const rules = (await run(family, ["-t", table, "-S"], { timeoutSeconds: 30 })).stdout;
      const commands = added.flatMap((c) => chainRemoval(rules, c).filter((cmd) => cmd[0] === "-D"));
      for (const c of added) commands.push(["-F", c]);
      for (const c of added) commands.push(["-X", c]);
      for (const cmd of commands)
        await run(family, ["-w", "5", "-t", table, ...cmd], { allowFailure: true, timeoutSeconds: 30 });
      removed.push(...added.map((c) => `${family}/${table}/${c}`));
    }
  return removed;
}

/**
 * Puts the host back as `snapshot` recorded it (the cluster's processes must be stopped). Returns what it did, and
 * throws with every problem after trying all.
 */
export async function restoreHost(snapshot: HostSnapshot, bridge: string): Promise<string[]> {
  const done: string[] = [];
  const problems: string[] = [];
  const attempt = async (what: string, body: () => Promise<unknown> | unknown) => {
    try {
      await body();
    } catch (err) {
      problems.push(`${what}: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  for (const [sysctl, value] of Object.entries(snapshot.sysctls)) {
    if (readOr(`/proc/sys/${sysctl}`) === value) continue;
    await attempt(`sysctl ${sysctl}`, () => fs.writeFileSync(`/proc/sys/${sysctl}`, value));
    done.push(`${sysctl.replace(/\//g, ".")} back to ${value}`);
  }
  for (const h of hierarchies()) {
    const dir = path.join(h, "kubepods");
    if (!snapshot.kubepods.includes(h) && fs.existsSync(dir)) await attempt(dir, () => removeCgroup(dir));
  }
  await attempt("iptables", async () => done.push(...(await removeChains(snapshot)).map((c) => `chain ${c}`)));
  if (fs.existsSync(`/sys/class/net/${bridge}`)) {
    await attempt(`bridge ${bridge}`, () => run("ip", ["link", "delete", bridge], { timeoutSeconds: 30 }));
    done.push(`bridge ${bridge}`);
  }
  if (fs.existsSync("/run/containerd/s")) {
    // A socket no shim listens on any more, made while the cluster ran: its shim was the cluster's.
    for (const socket of fs.readdirSync("/run/containerd/s").filter((s) => !snapshot.shimSockets.includes(s))) {
      const file = path.join("/run/containerd/s", socket);
      if (await staleSocket(file)) await attempt(`shim socket ${socket}`, () => fs.rmSync(file, { force: true }));
    }
  }
  for (const p of FIXED_PATHS.filter((p) => !snapshot.existing[p] && fs.existsSync(p))) {
    await attempt(p, () => fs.rmSync(p, { recursive: true, force: true }));
    done.push(`removed ${p}`);
  }
  if (problems.length) throw new Error(`the host is not as it was: ${problems.join("; ")}`);
  return done;
}
