/**
 * The Kubernetes target's pure modules, without Pulumi: pod templates from the service modules (probes from the
 * health checks, least privilege from what each image allows, files mounted one by one), the workloads, Services,
 * disruption budgets, the Ingress, the NetworkPolicies, and the Secrets' data within Kubernetes's size limit.
 */
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../../components/config/parse";
import type { ProgramConfig } from "../../../components/config/settings";
import { KUBERNETES_SETTINGS } from "../../../components/config/kubernetes";
import { inputJsonSchema } from "../../../components/schema/introspect";
import { runningServices, SERVICES, serviceOf } from "../../../components/services/index";
import { UNNEEDED_CAPABILITIES } from "../../../components/services/service";
import {
  deploymentSpec,
  disruptionBudgetSpec,
  ingressSpec,
  serviceSpec,
  statefulSetSpec,
} from "../../../components/targets/kubernetes/manifests";
import {
  extraAliases,
  fileKey,
  INPUTS_DIGEST_ANNOTATION,
  serviceName,
} from "../../../components/targets/kubernetes/naming";
import { networkPolicies, usesDatabase } from "../../../components/targets/kubernetes/networkPolicies";
import {
  PRE_STOP_SLEEP_SECONDS,
  probeCommand,
  probes,
  seconds,
  type PodContext,
  type PodInputs,
} from "../../../components/targets/kubernetes/podSpec";
import { envSecretData, SECRET_MAX_BYTES, splitFiles } from "../../../components/targets/kubernetes/secretData";

const K1 = [{ name: "k1", state: "current" }];

function context(settings: Record<string, unknown> = {}): PodContext & { config: ProgramConfig } {
  const config = parseConfig({ signingKeys: K1, target: "kubernetes", ...settings });
  return { instance: config.instanceName, settings: config, kubernetes: config.kubernetes, config };
}

const INPUTS: PodInputs = { digest: "d1", files: [], hostAliases: [] };

/** A plain view of a pod template (the SDK's input types wrap everything in `Input`). */
type Plain = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const plain = (value: unknown): Plain => value as Plain;

describe("probes from a module's health check", () => {
  it("run the same command: CMD as exec, CMD-SHELL through /bin/sh", () => {
    expect(probeCommand({ tests: ["CMD", "kong", "health"] })).toEqual(["kong", "health"]);
    expect(probeCommand({ tests: ["CMD-SHELL", "timeout 1 bash -c '</dev/tcp/127.0.0.1/9000'"] })).toEqual([
      "/bin/sh",
      "-c",
      "timeout 1 bash -c '</dev/tcp/127.0.0.1/9000'",
    ]);
    expect(probeCommand({ tests: ["NONE"] })).toBeUndefined();
    expect(() => probeCommand({ tests: ["SHELL", "x"] })).toThrow("neither CMD, CMD-SHELL nor NONE");
  });

  it("read Docker durations in whole seconds", () => {
    expect([seconds("5s"), seconds("1m30s"), seconds("500ms"), seconds("2h")]).toEqual([5, 90, 1, 7200]);
    expect(() => seconds("5 seconds")).toThrow("is not a duration");
  });

  it("keep the check's interval, timeout and retries; the startup probe allows the start period, or db's first start", () => {
    const realtime = probes(serviceOf("realtime"));
    expect(realtime.readinessProbe).toEqual({
      exec: { command: serviceOf("realtime").healthcheck.tests.slice(1) },
      periodSeconds: 30,
      timeoutSeconds: 5,
      failureThreshold: 3,
    });
    expect(realtime.livenessProbe).toEqual(realtime.readinessProbe);
    // 10 s start period + 3 retries of 30 s, probed every 2 s.
    expect(plain(realtime.startupProbe)).toMatchObject({ periodSeconds: 2, failureThreshold: 50 });
    // db: dependants wait 300 s for its first start, which runs every init migration.
    expect(plain(probes(serviceOf("db")).startupProbe).failureThreshold).toBe(150);
  });
});

describe("a pod template", () => {
  it("runs the module's image and command, reads its environment from its Secret, and carries the digest", () => {
    const { settings } = context();
    const pod = plain(deploymentSpec(serviceOf("rest"), context(), INPUTS).template);
    const container = pod.spec.containers[0];
    expect(container.image).toBe(settings.images.rest);
    expect(container.args).toEqual(["postgrest"]);
    expect(container.command).toBeUndefined();
    expect(container.envFrom).toEqual([{ secretRef: { name: "rest-env" } }]);
    expect(container.ports).toEqual([{ name: "tcp-3000", containerPort: 3000 }]);
    expect(container.lifecycle).toEqual({ preStop: { sleep: { seconds: PRE_STOP_SLEEP_SECONDS } } });
    expect(pod.metadata.annotations).toEqual({ [INPUTS_DIGEST_ANNOTATION]: "d1" });
  });

  it("asserts non-root, a read-only root and no capability where the image allows it (auth: uid 1000)", () => {
    const pod = plain(deploymentSpec(serviceOf("auth"), context(), INPUTS).template).spec;
    expect(pod.securityContext).toEqual({
      seccompProfile: { type: "RuntimeDefault" },
      runAsNonRoot: true,
      runAsUser: 1000,
    });
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.containers[0].securityContext).toEqual({
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
      readOnlyRootFilesystem: true,
    });
    expect(pod.volumes).toEqual([{ name: "writable-0", emptyDir: {} }]);
    expect(pod.containers[0].volumeMounts).toEqual([{ name: "writable-0", mountPath: "/tmp" }]);
  });

  it("keeps an image that starts as root as it is, with the capabilities Docker drops dropped", () => {
    const pod = plain(deploymentSpec(serviceOf("realtime"), context(), INPUTS).template).spec;
    expect(pod.securityContext).toEqual({ seccompProfile: { type: "RuntimeDefault" } });
    expect(pod.containers[0].securityContext).toEqual({
      allowPrivilegeEscalation: false,
      capabilities: { drop: [...UNNEEDED_CAPABILITIES] },
      readOnlyRootFilesystem: false,
    });
  });

  it("mounts each file at its path from its Secret's key, and the claims of its volumes", () => {
    const files = [
      { secret: "functions-files-0", key: "index.ts-a", path: "/home/deno/functions/main/index.ts" },
      { secret: "functions-files-1", key: "index.ts-b", path: "/home/deno/functions/hello/index.ts" },
    ];
    const ctx = context({ functions: { enabled: true } });
    const pod = plain(deploymentSpec(serviceOf("functions"), ctx, { ...INPUTS, files }).template).spec;
    expect(pod.volumes).toEqual([
      { name: "files-0", secret: { secretName: "functions-files-0", defaultMode: 0o444 } },
      { name: "files-1", secret: { secretName: "functions-files-1", defaultMode: 0o444 } },
      { name: "functions-cache", persistentVolumeClaim: { claimName: "functions-cache" } },
    ]);
    expect(pod.containers[0].volumeMounts).toEqual([
      { name: "files-0", mountPath: files[0].path, subPath: "index.ts-a", readOnly: true },
      { name: "files-1", mountPath: files[1].path, subPath: "index.ts-b", readOnly: true },
      { name: "functions-cache", mountPath: "/root/.cache/deno", subPath: "functions-cache" },
    ]);
    // Pods that mount a ReadWriteOnce claim are kept on the node that holds it.
    expect(pod.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution).toHaveLength(1);
  });

  it("resolves the hosts the inputs name through its hosts file, and adds no service links", () => {
    const hostAliases = [{ ip: "127.0.0.1", hostnames: ["kong"] }];
    const pod = plain(deploymentSpec(serviceOf("kong"), context(), { ...INPUTS, hostAliases }).template).spec;
    expect(pod.hostAliases).toEqual(hostAliases);
    expect(pod.enableServiceLinks).toBe(false);
  });

  it("takes the requests and limits from the module, merged with kubernetes.resources field by field", () => {
    const ctx = context({ kubernetes: { resources: { auth: { limits: { memory: "1Gi", cpu: "2" } } } } });
    expect(plain(deploymentSpec(serviceOf("auth"), ctx, INPUTS).template).spec.containers[0].resources).toEqual({
      requests: { cpu: "50m", memory: "64Mi" },
      limits: { memory: "1Gi", cpu: "2" },
    });
  });
});

describe("the workloads", () => {
  it("roll with maxUnavailable 0, with each module's default replicas or kubernetes.replicas", () => {
    const spec = deploymentSpec(serviceOf("auth"), context(), INPUTS);
    expect(spec.replicas).toBe(2);
    expect(spec.strategy).toEqual({ type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
    expect(deploymentSpec(serviceOf("auth"), context({ kubernetes: { replicas: { auth: 4 } } }), INPUTS).replicas).toBe(
      4,
    );
    expect(deploymentSpec(serviceOf("storage"), context(), INPUTS).replicas).toBe(1);
    const s3 = context({ storage: { backend: "s3", s3: { bucket: "objects", region: "us-east-1" } } });
    expect(deploymentSpec(serviceOf("storage"), s3, INPUTS).replicas).toBe(2);
  });

  it("run db as a StatefulSet whose claims are kept when it is deleted or scaled down", () => {
    const ctx = context({ kubernetes: { storage: { className: "fast", sizes: { "db-data": "20Gi" } } } });
    const spec = plain(statefulSetSpec(serviceOf("db"), ctx, INPUTS));
    expect(spec.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: "Retain", whenScaled: "Retain" });
    expect(spec.serviceName).toBe("db");
    expect(spec.volumeClaimTemplates.map((t: Plain) => [t.metadata.name, t.spec])).toEqual([
      [
        "db-data",
        { accessModes: ["ReadWriteOnce"], storageClassName: "fast", resources: { requests: { storage: "20Gi" } } },
      ],
      [
        "db-config",
        { accessModes: ["ReadWriteOnce"], storageClassName: "fast", resources: { requests: { storage: "1Gi" } } },
      ],
    ]);
    // The claims come from the templates: the pod declares no claim volume of its own.
    expect(spec.template.spec.volumes ?? []).not.toContainEqual(
      expect.objectContaining({ persistentVolumeClaim: expect.anything() }),
    );
  });

  it("have a PodDisruptionBudget only above one replica", () => {
    expect(disruptionBudgetSpec(serviceOf("kong"), context())).toMatchObject({ maxUnavailable: 1 });
    expect(disruptionBudgetSpec(serviceOf("realtime"), context())).toBeUndefined();
  });
});

describe("the Services", () => {
  it("are named after the first alias that can name one; the others are resolved through hostAliases", () => {
    expect(serviceName(serviceOf("auth"))).toBe("auth");
    expect(serviceName(serviceOf("realtime"))).toBe("realtime");
    expect(extraAliases(serviceOf("realtime"))).toEqual(["realtime-dev.supabase-realtime"]);
    expect(extraAliases(serviceOf("pooler"))).toEqual(["supavisor"]);
  });

  it("expose the gateway with kubernetes.gateway on gatewayHttpPort, beside the port the services call it on", () => {
    const ctx = context({ gatewayHttpPort: 8080, kubernetes: { gateway: { type: "NodePort", nodePort: 30080 } } });
    expect(serviceSpec(serviceOf("kong"), ctx)).toMatchObject({
      type: "NodePort",
      ports: [
        { name: "tcp-8000", port: 8000, targetPort: 8000, protocol: "TCP" },
        { name: "tcp-8080", port: 8080, targetPort: 8000, protocol: "TCP", nodePort: 30080 },
      ],
    });
    expect(serviceSpec(serviceOf("auth"), context())).toMatchObject({ type: "ClusterIP" });
  });

  it("are exposed by the kubernetes fields the modules name, one node-port field per published port", () => {
    const { settings } = context({ kubernetes: { pooler: { type: "NodePort" } } });
    const fields = inputJsonSchema(KUBERNETES_SETTINGS[0].schema).properties!;
    const exposed = SERVICES.filter((s) => s.kubernetes?.exposedBy);
    expect(exposed.map((s) => [s.role, s.kubernetes!.exposedBy!.setting])).toEqual([
      ["pooler", "pooler"],
      ["kong", "gateway"],
    ]);
    for (const service of exposed) {
      const { setting, nodePorts } = service.kubernetes!.exposedBy!;
      expect(Object.keys(fields[setting].properties!), service.role).toEqual(
        expect.arrayContaining(["type", ...nodePorts]),
      );
      expect(nodePorts, service.role).toHaveLength(service.publishedPorts!(settings).length);
    }
  });

  it("publish the pooler's two ports with kubernetes.pooler", () => {
    const ctx = context({ kubernetes: { pooler: { type: "LoadBalancer", sessionNodePort: 30432 } } });
    expect(plain(serviceSpec(serviceOf("pooler"), ctx))).toMatchObject({
      type: "LoadBalancer",
      ports: [{ port: 4000 }, { port: 5432, targetPort: 5432, nodePort: 30432 }, { port: 6543, targetPort: 6543 }],
    });
    expect(serviceSpec(serviceOf("pooler"), context()).type).toBe("ClusterIP");
  });

  it("route the Ingress's host to the gateway, with TLS from the named Secret", () => {
    const ctx = context({
      kubernetes: { ingress: { host: "api.example.com", className: "nginx", tlsSecretName: "tls" } },
    });
    expect(ingressSpec(serviceOf("kong"), ctx.settings, ctx.kubernetes)).toEqual({
      ingressClassName: "nginx",
      rules: [
        {
          host: "api.example.com",
          http: {
            paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "kong", port: { number: 8000 } } } }],
          },
        },
      ],
      tls: [{ hosts: ["api.example.com"], secretName: "tls" }],
    });
    expect(ingressSpec(serviceOf("kong"), context().settings, context().kubernetes)).toBeUndefined();
  });
});

describe("the NetworkPolicies", () => {
  const policiesOf = (settings: Record<string, unknown> = {}) => {
    const ctx = context(settings);
    const policies = networkPolicies(runningServices(ctx.settings), ctx.instance, ctx.settings, ctx.kubernetes);
    return new Map(policies.map((p) => [p.name, plain(p.spec)]));
  };

  it("close every pod of the stack, then let each service take traffic from the stack's pods", () => {
    const policies = policiesOf();
    expect(policies.get("default-deny")).toEqual({
      podSelector: {
        matchLabels: { "app.kubernetes.io/instance": "supabase", "app.kubernetes.io/part-of": "supabase-selfhosted" },
      },
      policyTypes: ["Ingress"],
    });
    expect(policies.get("auth")!.ingress).toEqual([
      {
        from: [
          {
            podSelector: {
              matchLabels: {
                "app.kubernetes.io/instance": "supabase",
                "app.kubernetes.io/part-of": "supabase-selfhosted",
              },
            },
          },
        ],
        ports: [{ port: 9999, protocol: "TCP" }],
      },
    ]);
  });

  it("open only the gateway (and a published pooler's two ports) to traffic from anywhere", () => {
    const open = (policies: Map<string, Plain>) =>
      [...policies].filter(([, spec]) => (spec.ingress ?? []).some((rule: Plain) => rule.from === undefined));
    expect(open(policiesOf()).map(([name, spec]) => [name, spec.ingress[1].ports])).toEqual([
      ["kong", [{ port: 8000, protocol: "TCP" }]],
    ]);
    const published = open(policiesOf({ kubernetes: { pooler: { type: "LoadBalancer" } } }));
    expect(published.map(([name, spec]) => [name, spec.ingress[1].ports])).toEqual([
      [
        "pooler",
        [
          { port: 5432, protocol: "TCP" },
          { port: 6543, protocol: "TCP" },
        ],
      ],
      ["kong", [{ port: 8000, protocol: "TCP" }]],
    ]);
  });

  it("let db take traffic only from the services that hold a database password", () => {
    const db = policiesOf({ functions: { enabled: true } }).get("db")!;
    expect(db.ingress[0].from[0].podSelector.matchExpressions).toEqual([
      {
        key: "app.kubernetes.io/name",
        operator: "In",
        values: ["auth", "rest", "realtime", "storage", "meta", "studio", "pooler", "functions"],
      },
    ]);
    expect(usesDatabase(serviceOf("kong"))).toBe(false);
    expect(usesDatabase(serviceOf("imgproxy"))).toBe(false);
  });
});

describe("the Secrets' data", () => {
  it("spreads files over as many Secrets as they need, whole, and refuses one larger than a Secret", () => {
    const big = (n: number, size: number) => ({ file: `/f/${n}.ts`, content: String(n % 10).repeat(size) });
    const files = [big(1, 600_000), big(2, 600_000), big(3, 100_000), big(4, 900_000)];
    const chunks = splitFiles("functions", files);
    expect(chunks.map((c) => c.secret)).toEqual(["functions-files-0", "functions-files-1", "functions-files-2"]);
    for (const chunk of chunks) {
      const size = Object.values(chunk.data).reduce((sum, v) => sum + Buffer.byteLength(v), 0);
      expect(size).toBeLessThanOrEqual(SECRET_MAX_BYTES);
    }
    // Nothing lost or cut: every file is whole in exactly one Secret, under the key its mount names.
    const mounted = chunks.flatMap((c) => c.files.map((f) => ({ file: f.path, content: c.data[f.key] })));
    expect(mounted).toEqual(files);
    expect(() => splitFiles("functions", [big(5, SECRET_MAX_BYTES + 1)])).toThrow(
      `functions's file /f/5.ts is ${SECRET_MAX_BYTES + 1} bytes; a Kubernetes Secret holds at most ${SECRET_MAX_BYTES}`,
    );
  });

  it("keys files apart even when their names are the same", () => {
    expect(fileKey("/a/index.ts")).not.toBe(fileKey("/b/index.ts"));
    expect(fileKey("/a/index.ts")).toMatch(/^index\.ts-[0-9a-f]{10}$/);
    expect(fileKey("/a/wéird name.sql")).toMatch(/^w_ird_name\.sql-/);
  });

  it("holds an environment as it is, and refuses one larger than a Secret", () => {
    expect(envSecretData("auth", { A: "1", B: "2" })).toEqual({ A: "1", B: "2" });
    expect(() => envSecretData("auth", { A: "x".repeat(SECRET_MAX_BYTES + 1) })).toThrow("auth's environment is");
    expect(() => envSecretData("auth", { "BAD NAME": "1" })).toThrow("invalid environment variable name");
  });
});
