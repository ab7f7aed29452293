/**
 * What the deployment should look like at a lifecycle step, from the program's own claims: the blast-radius
 * prediction of the stateful mock engine (testkit/blastRadius.ts), the README's table, and the keyring facts
 * every container's environment and kong.yml must show.
 */
import { RESOURCE_TYPES } from "../../../components/targets/resourceTypes";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import type { Algorithm } from "../../../components/keyring/algorithms";
import { hasPrivateMember, type Jwk, type Jwks } from "../../../components/keyring/model";
import { SERVICE_ROLES, type ServiceRole } from "../../../components/services/index";
import { measureBlastRadius, type BlastRadiusTarget } from "../../../testkit/blastRadius";

/** The lifecycle steps, in order, as the mock engine and the README name them. */
export const STEP_LABELS = ["S0 create", "S1 add standby", "S2 promote", "S3 revoke"] as const;
/** The steps of a leaked secret key, after S3 (the full run only, unless `E2E_APIKEYS=0`). */
export const API_KEY_STEP_LABELS = ["A1 add secret key", "A2 revoke secret key", "A3 remove secret key"] as const;
/** Every step the mock engine measures and the README's table has a row for. */
const ALL_STEP_LABELS = [...STEP_LABELS, ...API_KEY_STEP_LABELS] as const;
/** One lifecycle step, as the mock engine and the README name it. */
export type StepLabel = (typeof ALL_STEP_LABELS)[number];

/**
 * Containers each step replaces (on Kubernetes: workloads each step rolls), per the stateful mock engine, for the
 * suite's settings (studio on).
 */
export async function predictedReplacements(
  algorithm: Algorithm,
  { functions, target = "docker" }: { functions: boolean; target?: BlastRadiusTarget },
): Promise<Record<StepLabel, ServiceRole[]>> {
  const table = await measureBlastRadius({ algorithm, studio: true, functions, target });
  const rows = table.rows.filter((r) => !r.rerun);
  return Object.fromEntries(
    ALL_STEP_LABELS.map((label) => [label, rows.find((r) => r.step === label)?.replaced ?? []]),
  ) as Record<StepLabel, ServiceRole[]>;
}

/** What the README's blast-radius tables say: the containers they have a column for, and what each step replaces. */
export interface ReadmeBlastRadius {
  columns: ServiceRole[];
  replaced: Record<StepLabel, ServiceRole[]>;
}

/**
 * Containers each step replaces, per the README's blast-radius tables (`R` cells; a row is `S1 add standby …`,
 * re-run rows are skipped). Every such table must agree, or the README contradicts itself.
 */
export function readmeReplacements(readme: string): ReadmeBlastRadius {
  const lines = readme.split("\n");
  const cells = (line: string) =>
    line
      .split("|")
      .slice(1, -1)
      .map((c) => c.trim());
  const found: Partial<Record<StepLabel, ServiceRole[]>> = {};
  const known = new Set<ServiceRole>();
  lines.forEach((header, at) => {
    if (!/^\|\s*step\s*\|\s*db\s*\|/.test(header)) return;
    const columns = cells(header);
    for (const col of columns) if ((SERVICE_ROLES as readonly string[]).includes(col)) known.add(col as ServiceRole);
    for (const line of lines.slice(at + 2)) {
      if (!line.startsWith("|")) break;
      const row = cells(line);
      const label = ALL_STEP_LABELS.find((l) => row[0] === l || row[0].startsWith(`${l} [`));
      if (!label) continue;
      const replaced = columns.flatMap((col, i) =>
        row[i] === "R" && (SERVICE_ROLES as readonly string[]).includes(col) ? [col as ServiceRole] : [],
      );
      const earlier = found[label];
      if (earlier && earlier.join() !== replaced.join()) {
        throw new Error(`the README's blast-radius tables disagree on "${label}": [${earlier}] vs [${replaced}]`);
      }
      found[label] = replaced;
    }
  });
  for (const label of ALL_STEP_LABELS)
    if (!found[label]) throw new Error(`the README has no blast-radius row "${label}"`);
  return { columns: SERVICE_ROLES.filter((r) => known.has(r)), replaced: found as Record<StepLabel, ServiceRole[]> };
}

/** Reads the README next to the e2e folder. */
export const readReadme = (repoRoot: string) => fs.readFileSync(path.join(repoRoot, "README.md"), "utf8");

/** The container role of a container URN (`…docker:index/container:Container::supabase-<role>`). */
export function containerRole(urn: string): ServiceRole | undefined {
  if (!urn.includes(`${RESOURCE_TYPES.container}::`)) return undefined;
  const name = urn.slice(urn.lastIndexOf("::") + 2);
  const role = name.replace(/^supabase-/, "");
  return (SERVICE_ROLES as readonly string[]).includes(role) ? (role as ServiceRole) : undefined;
}

/** Container roles among URNs, in start order. */
export function rolesOf(urns: string[]): ServiceRole[] {
  const roles = new Set(urns.map(containerRole).filter((r): r is ServiceRole => r !== undefined));
  return SERVICE_ROLES.filter((r) => roles.has(r));
}

/** The planned operations of each container that is not left alone, e.g. `auth=update kong=replace`. */
export function containerOps(ops: Record<string, string[]>): string {
  return Object.entries(ops)
    .flatMap(([urn, list]) => {
      const role = containerRole(urn);
      const changing = list.filter((op) => op !== "same");
      return role && changing.length ? [`${role}=${[...new Set(changing)].join("+")}`] : [];
    })
    .join(" ");
}

/** `a` and `b` as sets, with what differs, for check details. */
export function sameSet(a: readonly string[], b: readonly string[]): { ok: boolean; detail: string } {
  const onlyA = a.filter((x) => !b.includes(x));
  const onlyB = b.filter((x) => !a.includes(x));
  return {
    ok: onlyA.length === 0 && onlyB.length === 0,
    detail: onlyA.length || onlyB.length ? `only first: [${onlyA}], only second: [${onlyB}]` : "",
  };
}

/** Parses a JWKS env value and refuses private members: what every verifier must be given. */
export function parsePublicJwks(text: string, where: string): Jwks {
  const jwks = JSON.parse(text) as Jwks;
  if (!Array.isArray(jwks.keys)) throw new Error(`${where} is not a JWKS object with keys`);
  const leaking = jwks.keys.filter((k) => hasPrivateMember(k));
  if (leaking.length)
    throw new Error(`${where} holds private members for kid(s) ${leaking.map((k) => k.kid).join(", ")}`);
  return jwks;
}

/** The kids of a JWKS, in order. */
export const kidsOf = (jwks: { keys: Jwk[] }): string[] => jwks.keys.map((k) => String(k.kid));

/** The JWTs kong.yml accepts as apikeys per consumer (its key-auth credentials). */
export function kongCredentials(kongYaml: string): Record<string, string[]> {
  const doc = parseYaml(kongYaml) as {
    consumers: Array<{ username: string; keyauth_credentials?: Array<{ key: string }> }>;
  };
  return Object.fromEntries(doc.consumers.map((c) => [c.username, (c.keyauth_credentials ?? []).map((k) => k.key)]));
}
