/**
 * The key-rotation lifecycle (the signing keys', then an API key's) run as consecutive simulated `pulumi up`s of the
 * real program (the stateful `MockEngine`), measuring which containers each step would recreate: a container is
 * replaced when any input Docker cannot change in place differs from the previous run. On the Kubernetes target,
 * which workloads each step would roll: a Deployment (or db's StatefulSet) rolls when its pod template differs from
 * the previous run. `npm run bench` prints the tables; a test asserts on them.
 */
import type { Algorithm } from "../components/keyring/algorithms";
import { canonicalJson } from "../components/keyring/model";
import { COMPONENT_NAME, supabaseProgram } from "../components/program";
import { SERVICE_ROLES, type ServiceRole } from "../components/services/index";
import { MockEngine, type StoredResource } from "./engine/engine";
import { TYPES } from "./engine/resources";

/**
 * Container inputs whose change makes the Docker provider replace the container (the `ForceNew` fields of
 * kreuzwerker/terraform-provider-docker `internal/provider/resource_docker_container.go`, which @pulumi/docker
 * bridges: envs, uploads, volumes, networksAdvanced, labels, ports, command, entrypoint, image, name), plus
 * `healthcheck`, which our containers list in `replaceOnChanges`.
 */
export const REPLACEMENT_INPUTS = [
  "envs",
  "uploads",
  "image",
  "volumes",
  "networksAdvanced",
  "ports",
  "labels",
  "command",
  "entrypoints",
  "name",
  "healthcheck",
] as const;

/** What rolls a Kubernetes workload: a change of its pod template (`spec.template`). */
export const ROLLOUT_INPUTS = ["template"] as const;

/** The targets the blast radius is measured on. */
export type BlastRadiusTarget = "docker" | "kubernetes";

/** One lifecycle step: the `signingKeys` config it applies, and the `apiKeys` (absent: the default list). */
export interface LifecycleStep {
  /** Short label, e.g. `S1 add standby`. */
  step: string;
  signingKeys: Array<{ name: string; state: string; algorithm: Algorithm }>;
  apiKeys?: Array<{ name: string; kind: string; state: string }>;
}

/** The name of the secret key the API-key steps add (the e2e adds it with `npm run keys -- api-keys add`). */
export const SECOND_SECRET_KEY = "backend-2";

/**
 * The rotation runbook: S0 [k1 current] → S1 [+k2 standby] → S2 [promote k2] → S3 [revoke k1]; then the leaked
 * secret key's: A1 [+backend-2 active] → A2 [secret revoked] → A3 [secret removed].
 */
export function lifecycleSteps(algorithm: Algorithm = "ES256"): LifecycleStep[] {
  const key = (name: string, state: string) => ({ name, state, algorithm });
  const api = (name: string, kind: string, state = "active") => ({ name, kind, state });
  const rotated = [key("k1", "revoked"), key("k2", "current")];
  const publishable = api("publishable", "publishable");
  const second = api(SECOND_SECRET_KEY, "secret");
  return [
    { step: "S0 create", signingKeys: [key("k1", "current")] },
    { step: "S1 add standby", signingKeys: [key("k1", "current"), key("k2", "standby")] },
    { step: "S2 promote", signingKeys: [key("k1", "previous"), key("k2", "current")] },
    { step: "S3 revoke", signingKeys: rotated },
    { step: "A1 add secret key", signingKeys: rotated, apiKeys: [publishable, api("secret", "secret"), second] },
    {
      step: "A2 revoke secret key",
      signingKeys: rotated,
      apiKeys: [publishable, api("secret", "secret", "revoked"), second],
    },
    { step: "A3 remove secret key", signingKeys: rotated, apiKeys: [publishable, second] },
  ];
}

/** What one simulated `pulumi up` did to the containers (or, on Kubernetes, the workloads). */
export interface BlastRadiusRow {
  /** The step's label; re-runs carry the same label with `rerun: true`. */
  step: string;
  /** True for the second `pulumi up` of a step, with unchanged config. */
  rerun: boolean;
  /** Containers that did not exist before this run. */
  created: ServiceRole[];
  /**
   * Containers whose replacement-triggering inputs changed (they would be recreated), in start order; on
   * Kubernetes, the workloads whose pod template changed (they would roll).
   */
  replaced: ServiceRole[];
  /** For each replaced container, which of {@link REPLACEMENT_INPUTS} (or {@link ROLLOUT_INPUTS}) changed. */
  changes: Partial<Record<ServiceRole, string[]>>;
  /** Wall time of the simulated update, in milliseconds. */
  ms: number;
}

/** The measured blast radius of a whole rotation. */
export interface BlastRadiusTable {
  target: BlastRadiusTarget;
  algorithm: Algorithm;
  studio: boolean;
  legacyHs256: boolean;
  functions: boolean;
  /** Every container the stack runs, in start order. */
  containers: ServiceRole[];
  /** One row per simulated `pulumi up`: each step, then its re-run. */
  rows: BlastRadiusRow[];
}

/** Options of {@link measureBlastRadius}. */
export interface BlastRadiusOptions {
  /** Algorithm of both keys (default ES256). */
  algorithm?: Algorithm;
  /** Run studio and meta (default true). */
  studio?: boolean;
  /** Legacy HS256 mode (default false). */
  legacyHs256?: boolean;
  /** Run the edge functions (default false, as the program's default). */
  functions?: boolean;
  /** The target (default docker). */
  target?: BlastRadiusTarget;
}

/** The containers (or Kubernetes workloads) of one run by role. */
function workloadsOf(registered: StoredResource[], target: BlastRadiusTarget): Map<ServiceRole, StoredResource> {
  const types: string[] = target === "docker" ? [TYPES.container] : [TYPES.deployment, TYPES.statefulSet];
  const out = new Map<ServiceRole, StoredResource>();
  for (const r of registered) {
    if (!types.includes(r.type)) continue;
    const role = r.name.slice(COMPONENT_NAME.length + 1) as ServiceRole;
    if (!SERVICE_ROLES.includes(role)) throw new Error(`unexpected workload resource ${r.name}`);
    out.set(role, r);
  }
  // Registration order follows when each workload's inputs resolve; report in start order instead.
  return new Map([...out].sort(([a], [b]) => SERVICE_ROLES.indexOf(a) - SERVICE_ROLES.indexOf(b)));
}

/** Whether a Kubernetes workload's pod template differs between two runs (it would roll). */
export function changedTemplate(before: Record<string, unknown>, after: Record<string, unknown>): string[] {
  const template = (inputs: Record<string, unknown>) => (inputs.spec as { template?: unknown } | undefined)?.template;
  return canonicalJson(template(before) ?? null) !== canonicalJson(template(after) ?? null) ? ["template"] : [];
}

/** Which replacement-triggering inputs differ between two runs of one container. */
export function changedInputs(before: Record<string, unknown>, after: Record<string, unknown>): string[] {
  return REPLACEMENT_INPUTS.filter(
    (field) => canonicalJson(before[field] ?? null) !== canonicalJson(after[field] ?? null),
  );
}

/**
 * Runs the rotation S0 → S1 → S2 → S3 → A1 → A2 → A3 under a fresh MockEngine, each step followed by a re-run with unchanged
 * config, and reports which containers each `pulumi up` would recreate.
 * The mock engine's clock advances a day between runs, so every step respects the rotation guard rails' waiting
 * periods, as a real rotation would.
 */
export async function measureBlastRadius(options: BlastRadiusOptions = {}): Promise<BlastRadiusTable> {
  const algorithm = options.algorithm ?? "ES256";
  const studio = options.studio ?? true;
  const legacyHs256 = options.legacyHs256 ?? false;
  const functions = options.functions ?? false;
  const target = options.target ?? "docker";
  const changed = target === "docker" ? changedInputs : changedTemplate;
  const engine = new MockEngine();
  const rows: BlastRadiusRow[] = [];
  let previous = new Map<ServiceRole, StoredResource>();
  let containers: ServiceRole[] = [];
  for (const { step, signingKeys, apiKeys } of lifecycleSteps(algorithm)) {
    for (const rerun of [false, true]) {
      const started = performance.now();
      const config = {
        signingKeys,
        studio,
        legacyHs256,
        ...(functions ? { functions: { enabled: true } } : {}),
        ...(target === "kubernetes" ? { target } : {}),
        ...(apiKeys ? { apiKeys } : {}),
      };
      const { registered } = await engine.run(config, supabaseProgram);
      const ms = Math.round(performance.now() - started);
      const current = workloadsOf(registered, target);
      containers = [...current.keys()];
      const row: BlastRadiusRow = { step, rerun, created: [], replaced: [], changes: {}, ms };
      for (const [role, resource] of current) {
        const before = previous.get(role);
        if (!before) {
          row.created.push(role);
          continue;
        }
        const fields = changed(before.inputs, resource.inputs);
        if (fields.length > 0) {
          row.replaced.push(role);
          row.changes[role] = fields;
        }
      }
      rows.push(row);
      previous = current;
    }
  }
  return { target, algorithm, studio, legacyHs256, functions, containers, rows };
}

/**
 * The table as Markdown: one row per `pulumi up`, one column per container (`R` = recreated, `+` = created); on
 * Kubernetes one column per workload (`R` = rolled).
 */
export function formatBlastRadius(table: BlastRadiusTable): string {
  const header = ["step", ...table.containers, "ms"];
  const lines = [`| ${header.join(" | ")} |`, `|${header.map(() => "---").join("|")}|`];
  for (const row of table.rows) {
    const cells = table.containers.map((role) =>
      row.created.includes(role) ? "+" : row.replaced.includes(role) ? "R" : "·",
    );
    lines.push(`| ${row.step}${row.rerun ? " (re-run)" : ""} | ${cells.join(" | ")} | ${row.ms} |`);
  }
  return lines.join("\n");
}
