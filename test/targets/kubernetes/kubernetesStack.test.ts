/**
 * The Kubernetes target under the mock engines: what `KubernetesStack` declares per service, that every Secret's
 * data is a Pulumi secret and only auth's holds a private key, that what the pods read exists, that the data is
 * kept on delete, and that bad config is refused before any resource.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { KubernetesStack, parseConfig, settingsWarnings, SigningKeyring } from "../../../components/index";
import { hasPrivateMember, type Jwk } from "../../../components/keyring/model";
import { supabaseProgram } from "../../../components/program";
import { SERVICE_ROLES } from "../../../components/services/index";
import { RESOURCE_TYPES as T } from "../../../components/targets/resourceTypes";
import { MockEngine } from "../../../testkit/engine/engine";
import { valueOf } from "../../../testkit/engine/sdk";
import { declare, type Declared, type Shapes } from "../../support/shapes";

const K1 = [{ name: "k1", state: "current" }];
const KUBERNETES = { signingKeys: K1, target: "kubernetes" };

/** The objects of one type by their Kubernetes name. */
const byName = (declared: Declared[], type: string) =>
  new Map(
    declared.filter((r) => r.type === type).map((r) => [(r.inputs.metadata as { name: string }).name, r] as const),
  );

/** Any JWK in a text: a JSON value anywhere inside it that looks like one. */
function jwksIn(text: string): Jwk[] {
  const found: Jwk[] = [];
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(visit);
    else if (value && typeof value === "object") {
      if ("kty" in value) found.push(value as Jwk);
      Object.values(value).forEach(visit);
    } else if (typeof value === "string" && /^[[{]/.test(value)) {
      try {
        visit(JSON.parse(value));
      } catch {
        // not JSON
      }
    }
  };
  visit(text);
  return found;
}

describe("the default stack on Kubernetes", () => {
  let run: Shapes<Awaited<ReturnType<typeof supabaseProgram>>>;
  beforeAll(async () => {
    run = await declare(KUBERNETES, supabaseProgram);
  }, 60_000);

  it("declares per service a Secret of its environment, a workload, a Service and a NetworkPolicy, as children", () => {
    // The backup services run on the Docker target only for now.
    const running = SERVICE_ROLES.filter((role) => !["functions", "tls", "backup", "backup-s3"].includes(role));
    const secrets = byName(run.declared, T.secret);
    const services = byName(run.declared, T.service);
    const policies = byName(run.declared, T.networkPolicy);
    for (const role of running) {
      expect(secrets.get(`${role}-env`)?.name, role).toBe(`supabase-${role}-env`);
      expect(policies.has(role), role).toBe(true);
    }
    expect([...services.keys()].sort()).toEqual(running.map((r) => (r === "realtime" ? "realtime" : r)).sort());
    expect([...byName(run.declared, T.deployment).keys()].sort()).toEqual(running.filter((r) => r !== "db").sort());
    expect([...byName(run.declared, T.statefulSet).keys()]).toEqual(["db"]);
    expect([...secrets.keys()].filter((n) => n.includes("-files-")).sort()).toEqual([
      "db-files-0",
      "kong-files-0",
      "pooler-files-0",
    ]);
    expect(policies.has("default-deny")).toBe(true);
    expect([...byName(run.declared, T.podDisruptionBudget).keys()].sort()).toEqual(["auth", "kong", "rest"]);
    const stack = run.options.get("supabase-auth")!.parent;
    expect(stack).toMatch(/KubernetesStack::supabase$/);
    for (const r of run.declared.filter((r) => r.type.startsWith("kubernetes:"))) {
      expect(run.options.get(r.name)!.parent, r.name).toBe(stack);
      expect(r.name, r.name).toMatch(/^supabase-/);
      if (r.type !== T.namespace) expect((r.inputs.metadata as { namespace: string }).namespace).toBe("supabase");
    }
    expect(run.declared.some((r) => r.type.startsWith("docker:"))).toBe(false);
  });

  it("keeps every Secret's data a Pulumi secret, and gives a private key to auth alone", async () => {
    const secrets = byName(run.declared, T.secret);
    for (const [name, secret] of secrets) expect(secret.secretInputs, name).toEqual(["stringData"]);
    const stack = run.result.stack as KubernetesStack;
    await expect(pulumi.isSecret(stack.envs.auth!)).resolves.toBe(true);
    await expect(pulumi.isSecret(stack.files.kong!)).resolves.toBe(true);
    const privates: string[] = [];
    for (const [name, secret] of secrets) {
      for (const value of Object.values(secret.inputs.stringData as Record<string, string>)) {
        for (const jwk of jwksIn(value)) if (hasPrivateMember(jwk)) privates.push(name);
      }
    }
    expect(privates).toEqual(["auth-env"]);
    const authKeys = JSON.parse((secrets.get("auth-env")!.inputs.stringData as Record<string, string>).GOTRUE_JWT_KEYS);
    expect((authKeys as Jwk[]).filter(hasPrivateMember)).toHaveLength(1);
  });

  it("gives each pod only Secrets and keys that exist, and the Services it calls by their aliases", () => {
    const secrets = byName(run.declared, T.secret);
    const workloads = [...byName(run.declared, T.deployment).values(), ...byName(run.declared, T.statefulSet).values()];
    for (const workload of workloads) {
      const pod = (workload.inputs.spec as { template: { spec: Record<string, any> } }).template.spec; // eslint-disable-line @typescript-eslint/no-explicit-any
      const container = pod.containers[0];
      expect(secrets.has(container.envFrom[0].secretRef.name), workload.name).toBe(true);
      const volumes = new Map((pod.volumes ?? []).map((v: { name: string }) => [v.name, v]));
      for (const mount of container.volumeMounts ?? []) {
        const volume = volumes.get(mount.name) as { secret?: { secretName: string } } | undefined;
        if (!volume?.secret) continue;
        const data = secrets.get(volume.secret.secretName)!.inputs.stringData as Record<string, string>;
        expect(Object.keys(data), `${workload.name} ${mount.mountPath}`).toContain(mount.subPath);
      }
    }
    // The gateway reaches realtime under the name realtime picks its tenant from, at realtime's Service.
    const kong = (byName(run.declared, T.deployment).get("kong")!.inputs.spec as any).template.spec; // eslint-disable-line @typescript-eslint/no-explicit-any
    const realtimeIp = (byName(run.declared, T.service).get("realtime")!.state.spec as { clusterIP: string }).clusterIP;
    expect(kong.hostAliases).toContainEqual({ ip: realtimeIp, hostnames: ["realtime-dev.supabase-realtime"] });
  });

  it("keeps the data: the namespace and the claims are retained on delete, db's claims outside Pulumi's state", () => {
    const claims = byName(run.declared, T.persistentVolumeClaim);
    expect([...claims.keys()].sort()).toEqual(["storage-data", "studio-snippets"]);
    for (const claim of claims.values()) expect(run.options.get(claim.name)!.retainOnDelete, claim.name).toBe(true);
    expect(run.options.get("supabase-namespace")!.retainOnDelete).toBe(true);
    const db = byName(run.declared, T.statefulSet).get("db")!.inputs.spec as Record<string, unknown>;
    expect(db.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: "Retain", whenScaled: "Retain" });
  });
});

describe("pulumi up after pulumi up on Kubernetes", () => {
  it("changes nothing on a re-run, and at a key step changes the Secrets of exactly the workloads that roll", async () => {
    const engine = new MockEngine();
    const changed = (registered: Awaited<ReturnType<MockEngine["run"]>>["registered"], types: string[]) =>
      registered
        .filter((r) => types.includes(r.type) && r.operation !== "same")
        .map((r) => (r.inputs.metadata as { name: string }).name.replace(/-(env|files-\d+)$/, ""))
        .sort();
    const k1 = { name: "k1", state: "current" };
    await engine.run(KUBERNETES, supabaseProgram);
    const rerun = await engine.run(KUBERNETES, supabaseProgram);
    expect(rerun.registered.filter((r) => r.operation !== "same").map((r) => r.name)).toEqual([]);
    const standby = await engine.run(
      { ...KUBERNETES, signingKeys: [k1, { name: "k2", state: "standby" }] },
      supabaseProgram,
    );
    const rolled = changed(standby.registered, [T.deployment, T.statefulSet]);
    expect(rolled).toEqual(["auth", "kong", "realtime", "rest", "storage"]);
    expect([...new Set(changed(standby.registered, [T.secret]))]).toEqual(rolled);
    // Nothing else of the cluster changes: no Service, policy, claim, budget or the namespace.
    const others = standby.registered.filter(
      (r) =>
        r.type.startsWith("kubernetes:") && r.operation !== "same" && r.type !== T.secret && r.type !== T.deployment,
    );
    expect(others.map((r) => r.name)).toEqual([]);
  }, 60_000);
});

describe("the Kubernetes config", () => {
  it("warns about an https URL nothing terminates and an Ingress for another host", () => {
    const config = parseConfig({
      ...KUBERNETES,
      apiExternalUrl: "https://api.example.com",
      kubernetes: { ingress: { host: "other.example.com" } },
    });
    expect(settingsWarnings(config, new Set())).toEqual([
      "supabase-selfhosted:apiExternalUrl is https but nothing in the stack terminates TLS: set " +
        "kubernetes.ingress.tlsSecretName, or terminate it at your load balancer.",
      "supabase-selfhosted:kubernetes.ingress.host is other.example.com but apiExternalUrl's host is " +
        "api.example.com: auth's links and the dashboard point at apiExternalUrl.",
    ]);
    const ingress = { host: "api.example.com", tlsSecretName: "api-tls" };
    const terminated = parseConfig({
      ...KUBERNETES,
      apiExternalUrl: "https://api.example.com",
      kubernetes: { ingress },
    });
    expect(settingsWarnings(terminated, new Set())).toEqual([]);
    const idle = parseConfig({ ...KUBERNETES, kubernetes: { replicas: { functions: 2 }, resources: { tls: {} } } });
    expect(settingsWarnings(idle, new Set())).toEqual([
      "supabase-selfhosted:kubernetes.replicas.functions: functions does not run with these settings, so this has no effect.",
      "supabase-selfhosted:kubernetes.resources.tls: tls does not run with these settings, so this has no effect.",
    ]);
  });

  it("lets ports that would clash on a Docker host be those of separate Services", () => {
    expect(() => parseConfig({ ...KUBERNETES, pooler: { sessionPort: 8000 } })).not.toThrow();
    expect(() => parseConfig({ signingKeys: K1, pooler: { sessionPort: 8000, host: "0.0.0.0" } })).toThrow(
      "8000 is already gatewayHttpPort's host port",
    );
  });

  it("hands out the pooler's URLs at its Service, and the namespace", async () => {
    const { result } = await declare(
      KUBERNETES,
      () => import(/* @vite-ignore */ `../../../index.js?k8s=${Date.now()}`),
    );
    const outputs = result as Record<string, unknown>;
    expect(await valueOf(outputs.poolerSessionUrl as pulumi.Output<string>)).toBe(
      "postgresql://postgres.default@pooler.supabase.svc:5432/postgres",
    );
    expect(await valueOf(outputs.poolerTransactionUrl as pulumi.Output<string>)).toBe(
      "postgresql://postgres.default@pooler.supabase.svc:6543/postgres",
    );
    expect(await valueOf(outputs.kubernetesNamespace as pulumi.Output<string>)).toBe("supabase");
  }, 60_000);
});

describe("the functions' files on Kubernetes", () => {
  it("are spread over Secrets when they outgrow one, and a file larger than a Secret is refused before anything", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "functions-"));
    try {
      fs.mkdirSync(path.join(dir, "main"));
      fs.mkdirSync(path.join(dir, "big"));
      fs.writeFileSync(path.join(dir, "main", "index.ts"), "// main\n");
      fs.writeFileSync(path.join(dir, "big", "a.ts"), `// ${"a".repeat(700_000)}\n`);
      fs.writeFileSync(path.join(dir, "big", "b.ts"), `// ${"b".repeat(700_000)}\n`);
      const config = { ...KUBERNETES, functions: { enabled: true, dir } };
      const { declared } = await declare(config, supabaseProgram);
      const files = [...byName(declared, T.secret).keys()].filter((n) => n.startsWith("functions-files-"));
      expect(files.sort()).toEqual(["functions-files-0", "functions-files-1"]);
      fs.writeFileSync(path.join(dir, "big", "c.ts"), "c".repeat(1024 * 1024 + 1));
      const engine = new MockEngine();
      await expect(engine.run(config, supabaseProgram)).rejects.toThrow(
        "supabase-selfhosted:functions.dir: big/c.ts is 1048577 bytes; on Kubernetes a file travels in a Secret",
      );
      expect(engine.registered).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe("settings of the other target", () => {
  it.each([
    [
      { gatewayHost: "127.0.0.1" },
      "supabase-selfhosted:gatewayHost: is for the Docker target only (target is kubernetes)",
    ],
    [{ database: { publish: true } }, "supabase-selfhosted:database.publish: is for the Docker target only"],
    [{ tls: { mode: "external" } }, "supabase-selfhosted:tls: is for the Docker target only"],
    [{ containers: { memoryMb: { db: 2048 } } }, "supabase-selfhosted:containers: is for the Docker target only"],
    [{ pooler: { host: "0.0.0.0" } }, "supabase-selfhosted:pooler.host: is for the Docker target only"],
    [{ kubernetes: { replicas: { db: 2 } } }, "supabase-selfhosted:kubernetes.replicas.db: 2 is more than db can run"],
  ])("refuses %j on Kubernetes before any resource", async (settings, message) => {
    const engine = new MockEngine();
    await expect(engine.run({ ...KUBERNETES, ...settings }, supabaseProgram)).rejects.toThrow(message);
    expect(engine.registered).toEqual([]);
  });

  it("refuses the kubernetes setting on Docker before any resource", async () => {
    const engine = new MockEngine();
    await expect(engine.run({ signingKeys: K1, kubernetes: { namespace: "x" } }, supabaseProgram)).rejects.toThrow(
      "supabase-selfhosted:kubernetes: is for target kubernetes only (target is docker)",
    );
    expect(engine.registered).toEqual([]);
  });
});

describe("KubernetesStack from another program", () => {
  it("takes settings as values, its own instance name and namespace, and a transform hook per kind", async () => {
    const { declared } = await declare({}, () => {
      const config = parseConfig({ ...KUBERNETES, instanceName: "staging", kubernetes: { namespace: "apps" } });
      const keyring = new SigningKeyring("s", { config });
      return new KubernetesStack("s", {
        config,
        keyring,
        instanceName: config.instanceName,
        kubernetes: config.kubernetes,
        transform: {
          deployment: (args) => void (args.metadata = { ...(args.metadata as object), annotations: { team: "a" } }),
        },
      });
    });
    const auth = byName(declared, T.deployment).get("auth")!;
    expect(auth.name).toBe("s-auth");
    expect(auth.inputs.metadata).toMatchObject({ namespace: "apps", annotations: { team: "a" } });
    const labels = (auth.inputs.spec as any).template.metadata.labels; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(labels["app.kubernetes.io/instance"]).toBe("staging");
    expect(byName(declared, T.namespace).has("apps")).toBe(true);
  });
});
