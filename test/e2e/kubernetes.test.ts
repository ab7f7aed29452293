/**
 * The real-engine suite's Kubernetes cluster helpers that decide whether the cluster runs here and whether the host
 * is left as it was: what each process is given, which iptables rules and mounts the teardown removes, and the
 * provider schema check.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { schemaMismatches, sdkPropertyNames } from "../../e2e/lib/checks/providerSchemas";
import { probeDuring } from "../../e2e/lib/checks/requestProbe";
import {
  DEFAULT_NETWORK,
  apiserverArgs,
  cniConflist,
  containerdConfig,
  controllerManagerArgs,
  etcdArgs,
  kubeletArgs,
  kubeletConfig,
  proxyArgs,
  schedulerArgs,
  type ClusterLayout,
} from "../../e2e/lib/engines/kubernetes/configs";
import { chainNames, chainRemoval, splitRule } from "../../e2e/lib/engines/kubernetes/hostState";
import { containerdName, standInPorts } from "../../e2e/lib/engines/kubernetes/images";
import type { ClusterPki } from "../../e2e/lib/engines/kubernetes/pki";
import { mountsUnder } from "../../e2e/lib/engines/kubernetes/teardown";
import { goBuildArgs } from "../../e2e/lib/toolchain/goBuild";

const dir = "/tmp/supabase-e2e-x/kubernetes/cluster";
const layout: ClusterLayout = {
  dir,
  nodeName: "node",
  nodeIp: "192.0.2.2",
  podCidr: DEFAULT_NETWORK.podCidr,
  serviceCidr: DEFAULT_NETWORK.serviceCidr,
  bridge: DEFAULT_NETWORK.bridge,
  ports: {
    etcdClient: 20001,
    etcdPeer: 20002,
    apiserver: 20003,
    controllerManager: 20004,
    scheduler: 20005,
    kubelet: 20006,
    kubeletHealthz: 20007,
    proxyHealthz: 20008,
    proxyMetrics: 20009,
  },
  pauseImage: "local/supabase-e2e-pause:abc",
};
const pki = Object.fromEntries(
  ["caCert", "caKey", "serverCert", "serverKey", "adminCert", "adminKey", "serviceAccountKey", "serviceAccountPub"].map(
    (k) => [k, `${dir}/pki/${k}`],
  ),
) as unknown as ClusterPki;

describe("the suite's cluster configuration", () => {
  const everything = [
    containerdConfig(layout),
    cniConflist(layout),
    kubeletConfig(layout, pki),
    ...etcdArgs(layout),
    ...apiserverArgs(layout, pki),
    ...controllerManagerArgs(layout, pki),
    ...schedulerArgs(layout),
    ...kubeletArgs(layout),
    ...proxyArgs(layout),
  ].join("\n");

  it("writes nothing outside its directory but reads the host's CNI plugins and resolver", () => {
    const paths = [...everything.matchAll(/(?<![\w.:/])\/(?:[\w.-]+\/)*[\w.-]+/g)].map((m) => m[0]);
    const outside = paths.filter(
      (p) => !p.startsWith(`${dir}/`) && !p.startsWith("/usr/lib/cni") && p !== "/etc/resolv.conf",
    );
    expect(outside).toEqual([]);
    expect(paths.length).toBeGreaterThan(20);
  });

  it("carries the two settings without which no pod runs on these hosts", () => {
    // Root without CAP_SYS_RESOURCE: runc refuses the sandbox's oom_score_adj unless containerd restricts it.
    expect(containerdConfig(layout)).toMatch(/^\s*restrict_oom_score_adj = true$/m);
    // The kubernetes Service gets no endpoints for a loopback address.
    expect(apiserverArgs(layout, pki)).toContain("--advertise-address=192.0.2.2");
    expect(apiserverArgs(layout, pki)).toContain("--bind-address=192.0.2.2");
  });

  it("leaves the host's conntrack and localhost sysctls alone and listens on the ports it picked", () => {
    const proxy = proxyArgs(layout);
    expect(proxy).toEqual(
      expect.arrayContaining(["--conntrack-max-per-core=0", "--iptables-localhost-nodeports=false"]),
    );
    for (const port of Object.values(layout.ports)) expect(everything).toContain(String(port));
    expect(everything).not.toMatch(/:(6443|10250|10257|10259|2379|2380)\b/);
  });

  it("lets the pods' traffic through the host's FORWARD chain with the firewall plugin, on its own bridge", () => {
    const conflist = JSON.parse(cniConflist(layout)) as { plugins: Array<{ type: string; bridge?: string }> };
    expect(conflist.plugins.map((p) => p.type)).toEqual(["bridge", "portmap", "firewall"]);
    expect(conflist.plugins[0].bridge).toBe(DEFAULT_NETWORK.bridge);
  });
});

describe("the host's iptables after the cluster", () => {
  const rules = [
    "-P FORWARD DROP",
    "-N CNI-FORWARD",
    "-N DOCKER",
    '-A FORWARD -m comment --comment "CNI firewall plugin rules" -j CNI-FORWARD',
    "-A FORWARD -o docker0 -j DOCKER",
    "-A CNI-FORWARD -d 10.244.0.5/32 -j ACCEPT",
  ].join("\n");

  it("deletes the jumps into a chain, then its rules, then the chain, comments kept whole", () => {
    expect(chainRemoval(rules, "CNI-FORWARD")).toEqual([
      ["-D", "FORWARD", "-m", "comment", "--comment", "CNI firewall plugin rules", "-j", "CNI-FORWARD"],
      ["-F", "CNI-FORWARD"],
      ["-X", "CNI-FORWARD"],
    ]);
    expect(chainRemoval(rules, "DOCKER")[0]).toEqual(["-D", "FORWARD", "-o", "docker0", "-j", "DOCKER"]);
    expect(splitRule('a "b c" d')).toEqual(["a", "b c", "d"]);
  });

  it("reads the chain names of an iptables-save text", () => {
    expect(
      chainNames("*filter\n:INPUT ACCEPT [0:0]\n:KUBE-FIREWALL - [0:0]\n-A INPUT -j KUBE-FIREWALL\nCOMMIT"),
    ).toEqual(["INPUT", "KUBE-FIREWALL"]);
  });
});

describe("the cluster's mounts at teardown", () => {
  it("lists those under its directory only, deepest first, with escaped spaces read back", () => {
    const mountinfo = [
      "22 1 0:21 / / rw - ext4 /dev/vda rw",
      `90 22 0:50 / ${dir}/kubelet/pods/u1/volumes/kubernetes.io~secret/env rw - tmpfs tmpfs rw`,
      `91 22 0:51 / ${dir}/containerd/state/netns/cni-1 rw - nsfs nsfs rw`,
      `92 22 0:52 / ${dir}/volumes/pv\\0400 rw - ext4 /dev/vda rw`,
      `93 22 0:53 / ${dir}-other/x rw - tmpfs tmpfs rw`,
    ].join("\n");
    expect(mountsUnder(mountinfo, dir)).toEqual([
      `${dir}/kubelet/pods/u1/volumes/kubernetes.io~secret/env`,
      `${dir}/containerd/state/netns/cni-1`,
      `${dir}/volumes/pv 0`,
    ]);
  });
});

describe("the cluster's images", () => {
  it("give each serving stand-in the ports its service's probes ask", () => {
    const storage = { port: 5000, healthcheck: { tests: ["CMD", "wget", "--spider", "http://storage:5000/status"] } };
    expect(standInPorts(storage)).toEqual([5000]);
    const functions = {
      port: 9000,
      healthcheck: { tests: ["CMD-SHELL", "timeout 1 bash -c '</dev/tcp/127.0.0.1/9001'"] },
    };
    expect(standInPorts(functions)).toEqual([9000, 9001]);
    const tls = { port: 8443, healthcheck: { tests: ["CMD", "wget", "-q", "http://127.0.0.1:8081/health"] } };
    expect(standInPorts(tls)).toEqual([8443, 8081]);
  });

  it("are named in containerd as the CRI looks them up", () => {
    expect(containerdName("local/supabase-e2e-auth:abc")).toBe("docker.io/local/supabase-e2e-auth:abc");
    expect(containerdName("postgres:15")).toBe("docker.io/library/postgres:15");
    expect(containerdName("ghcr.io/x/y:1")).toBe("ghcr.io/x/y:1");
  });
});

describe("the built Kubernetes provider's schema against @pulumi/kubernetes", () => {
  it("reads inputs and state from both SDK layouts (bridged and Kubernetes)", () => {
    const kubernetes = sdkPropertyNames(
      'resourceInputs["apiVersion"] = "v1";\nresourceInputs["data"] = args?.data ? pulumi.secret(args.data) : undefined;\n' +
        'resourceInputs["status"] = undefined /*out*/;\n} else {\nresourceInputs["status"] = undefined /*out*/;',
    );
    expect([...kubernetes.inputs]).toEqual(["apiVersion", "data"]);
    expect([...kubernetes.state]).toEqual(["apiVersion", "data", "status"]);
    const bridged = sdkPropertyNames('resourceInputs["name"] = state?.name;\nresourceInputs["name"] = args?.name;');
    expect([...bridged.inputs]).toEqual(["name"]);
  });

  it("finds the Secret in the SDK's folders and reports a property the provider names differently", () => {
    const props = ["apiVersion", "data", "immutable", "kind", "metadata", "stringData", "type"];
    const schemaOf = (names: string[]) => ({
      resources: {
        "kubernetes:core/v1:Secret": {
          inputProperties: Object.fromEntries(names.map((n) => [n, {}])),
          properties: Object.fromEntries(names.map((n) => [n, {}])),
        },
      },
    });
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "schema-")), "schema.json");
    const root = path.join(__dirname, "..", "..");
    fs.writeFileSync(file, JSON.stringify(schemaOf(props)));
    expect(schemaMismatches(root, "kubernetes", file, ["kubernetes:core/v1:Secret"])).toEqual([]);
    fs.writeFileSync(file, JSON.stringify(schemaOf([...props.filter((p) => p !== "immutable"), "immutible"])));
    expect(schemaMismatches(root, "kubernetes", file, ["kubernetes:core/v1:Secret"])).toEqual([
      "kubernetes:core/v1:Secret inputs: SDK only [immutable], provider only [immutible]",
      "kubernetes:core/v1:Secret states: SDK only [immutable], provider only [immutible]",
    ]);
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  });
});

describe("the toolchain's go build flags", () => {
  it("turn optimisation off and strip the binary, keeping the version settings", () => {
    expect(goBuildArgs({ optimize: false, strip: true }, "/o/kube", ".", ["-X a.b=c"])).toEqual([
      "build",
      "-gcflags=all=-N -l",
      "-ldflags",
      "-s -w -X a.b=c",
      "-o",
      "/o/kube",
      ".",
    ]);
    expect(goBuildArgs({ optimize: true, strip: false }, "/o/p", "./cmd/p")).toEqual([
      "build",
      "-o",
      "/o/p",
      "./cmd/p",
    ]);
  });
});

describe("the request probe during an update", () => {
  it("keeps its rate while answers are slow and counts every answer that is not 200", async () => {
    let calls = 0;
    const server = http.createServer((req, res) => {
      calls++;
      // Every fifth request is refused and every seventh answers late: the rate must not drop.
      const status = calls % 5 === 0 ? 503 : 200;
      setTimeout(() => res.writeHead(status).end(), calls % 7 === 0 ? 300 : 0);
    });
    const port = await new Promise<number>((resolve) =>
      server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)),
    );
    try {
      const during = new Promise<string>((resolve) => setTimeout(() => resolve("updated"), 1000));
      const { result, tally } = await probeDuring(during, [
        { label: "/health", url: `http://127.0.0.1:${port}/health` },
      ]);
      expect(result).toBe("updated");
      expect(tally.requests).toBeGreaterThanOrEqual(20);
      expect(tally.requests).toBe(calls);
      expect(tally.failures).toBe(Math.floor(calls / 5));
      expect(tally.examples).toEqual(["/health: 503"]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
