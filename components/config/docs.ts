/**
 * The documentation the registry writes: the tables of the README and docs/ (by block name) and the stack file's
 * JSON Schema. `npm run docs` writes them; `test/docs.test.ts` fails when a committed copy differs.
 */
import { fieldsTable, fillGenerated, markdownTable, referenceTable } from "../schema/docs";
import type { JsonSchema } from "../schema/introspect";
import { stackFileSchema } from "../schema/stackSchema";
import { SERVICES } from "../services/index";
import { SETTINGS } from "./settings";

/** The files that hold generated tables, relative to the repository root. */
export const DOCUMENTED_FILES = [
  "README.md",
  "docs/configuration.md",
  "docs/platform.md",
  "docs/kubernetes.md",
] as const;

/** Where the stack file's JSON Schema is written, relative to the repository root. */
export const STACK_SCHEMA_FILE = "stack-config.schema.json";

/** The object settings whose fields get a table of their own. */
const FIELD_TABLES = [
  "signingKeys",
  "apiKeys",
  "auth",
  "database",
  "pooler",
  "functions",
  "storage",
  "backup",
  "kubernetes",
] as const;

/** Every generated table, by block name: `settings` (the reference) and one per object setting. */
export function docBlocks(): Record<string, string> {
  const setting = (key: string) => {
    const found = SETTINGS.find((s) => s.key === key);
    if (!found) throw new Error(`no setting ${key}`);
    return found;
  };
  return {
    settings: referenceTable(SETTINGS),
    ...Object.fromEntries(FIELD_TABLES.map((key) => [key, fieldsTable(setting(key))])),
    "kubernetes-services": kubernetesServicesTable(),
  };
}

/** Each service's Kubernetes facts, from its module: replicas and why, what its image allows, its resources. */
function kubernetesServicesTable(): string {
  const rows = SERVICES.flatMap((service) => {
    const facts = service.kubernetes;
    if (!facts) return [];
    const { replicas, image, resources } = facts;
    const count = typeof replicas.default === "number" ? String(replicas.default) : "2 with S3, else 1";
    const user = image.runAsUser !== undefined ? `uid ${image.runAsUser} (runAsNonRoot)` : "the image's";
    const root = image.readOnlyRootFilesystem
      ? `read-only${image.writableDirs?.length ? ` (writable: ${image.writableDirs.map((d) => `\`${d}\``).join(", ")})` : ""}`
      : "writable";
    return [
      [
        `\`${service.role}\``,
        `${count}${replicas.max !== undefined ? ` (at most ${replicas.max})` : ""}: ${replicas.why}`,
        user,
        root,
        image.why,
        `${resources.requests.cpu}, ${resources.requests.memory}; limit ${resources.limits.memory}`,
      ],
    ];
  });
  return markdownTable(
    ["service", "replicas and why", "user", "root filesystem", "what its image allows", "requests"],
    rows,
  );
}

/** A documented file's text with its generated tables as the registry says. */
export function withGeneratedTables(markdown: string): string {
  return fillGenerated(markdown, docBlocks());
}

/** The stack file's JSON Schema, as written to {@link STACK_SCHEMA_FILE}. */
export function stackSchema(): JsonSchema {
  return stackFileSchema(SETTINGS);
}
