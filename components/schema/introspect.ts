/**
 * What a setting's schema says about itself, read from the JSON Schema zod generates for it: the fields, their
 * documentation, defaults and types, and which values are secrets. The docs tables, the editor schema and the
 * plain-secret warnings all read this one description. Pure; the ground floor.
 */
import * as z from "zod";

/** The part of JSON Schema this program's settings produce. */
export interface JsonSchema {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  additionalProperties?: JsonSchema | boolean;
  propertyNames?: JsonSchema;
  anyOf?: JsonSchema[];
  minimum?: number;
  maximum?: number;
  pattern?: string;
  /** The type as the docs show it (set by the field builders). */
  "x-type"?: string;
  /** The default as the docs show it, where the value alone would not say it. */
  "x-default"?: string;
  /** The value is a secret: set it with `--secret`, never shown in a message. */
  "x-secret"?: boolean;
  [keyword: string]: unknown;
}

const cache = new WeakMap<z.ZodType, JsonSchema>();

/**
 * The JSON Schema of a setting's input, as an editor validates a stack file with it. Defaults that zod leaves out
 * (those of values given as text and turned into numbers or flags) are put back from the schema itself.
 */
export function inputJsonSchema(schema: z.ZodType): JsonSchema {
  let json = cache.get(schema);
  if (!json) {
    json = z.toJSONSchema(schema, {
      io: "input",
      unrepresentable: "any",
      override: ({ zodSchema, jsonSchema }) => {
        const def = (zodSchema as unknown as z.ZodType)._zod.def as { type: string; defaultValue?: unknown };
        if (def.type === "default" && jsonSchema.default === undefined && isJsonValue(def.defaultValue)) {
          jsonSchema.default = def.defaultValue as never;
        }
      },
    }) as JsonSchema;
    delete json.$schema;
    cache.set(schema, json);
  }
  return json;
}

function isJsonValue(value: unknown): boolean {
  return value !== undefined && typeof value !== "function" && !(value instanceof Map) && !(value instanceof Set);
}

/** One documented field of an object setting, flattened: `smtp.host`, `externalProviders.<name>.secret`. */
export interface FieldDoc {
  path: string;
  schema: JsonSchema;
  required: boolean;
}

/**
 * The fields of an object setting, depth first, each nested object's fields after it (`s3.bucket` …); the fields
 * of a map's values appear under `<name>` (or the name the map documents).
 */
export function fieldsOf(json: JsonSchema, prefix = ""): FieldDoc[] {
  const object = objectBranch(json) ?? (json.type === "array" && json.items ? objectBranch(json.items) : undefined);
  if (!object?.properties) return [];
  const fields: FieldDoc[] = [];
  for (const [name, field] of Object.entries(object.properties)) {
    const path = `${prefix}${name}`;
    const nested = objectBranch(field);
    const mapValues = mapValueSchema(field);
    if (nested?.properties) fields.push(...fieldsOf(nested, `${path}.`));
    else if (mapValues && objectBranch(mapValues)?.properties) fields.push(...fieldsOf(mapValues, `${path}.<name>.`));
    else fields.push({ path, schema: field, required: object.required?.includes(name) ?? false });
  }
  return fields;
}

/** The object form of a schema (itself, or its object alternative in an `anyOf`). */
function objectBranch(json: JsonSchema): JsonSchema | undefined {
  if (json.type === "object" && json.properties) return json;
  return json.anyOf?.find((branch) => branch.type === "object" && branch.properties);
}

/** The value schema of a map (`additionalProperties`), if the schema is one. */
function mapValueSchema(json: JsonSchema): JsonSchema | undefined {
  return typeof json.additionalProperties === "object" ? json.additionalProperties : undefined;
}

/** A config path as users write it with `--path`: `signingKeys[1].state`, `auth.smtp.pass`. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((part, i) => (typeof part === "number" ? `[${part}]` : i === 0 ? String(part) : `.${String(part)}`))
    .join("");
}

/** A path pattern inside a setting's value: names, `*` for any map key, `[]` for any list item. */
export type PathPattern = readonly string[];

/** Where a setting holds secrets: `[]` (the whole value), `["smtp", "pass"]`, `["externalProviders", "*", "secret"]`. */
export function secretPatterns(json: JsonSchema, at: PathPattern = []): PathPattern[] {
  if (json["x-secret"]) return [at];
  const found: PathPattern[] = [];
  for (const branch of json.anyOf ?? []) found.push(...secretPatterns(branch, at));
  for (const [name, field] of Object.entries(json.properties ?? {}))
    found.push(...secretPatterns(field, [...at, name]));
  if (json.items) found.push(...secretPatterns(json.items, [...at, "[]"]));
  const values = mapValueSchema(json);
  if (values) found.push(...secretPatterns(values, [...at, "*"]));
  return found;
}

/** The values a parsed setting holds at a pattern, each with its concrete path (`auth.externalProviders.github.secret`). */
export function valuesAt(key: string, value: unknown, pattern: PathPattern): Array<{ path: string; value: unknown }> {
  const walk = (current: unknown, rest: PathPattern, path: PropertyKey[]): Array<{ path: string; value: unknown }> => {
    if (current === undefined || current === null) return [];
    if (rest.length === 0) return [{ path: formatPath(path), value: current }];
    const [head, ...tail] = rest;
    if (head === "[]") {
      return Array.isArray(current) ? current.flatMap((item, i) => walk(item, tail, [...path, i])) : [];
    }
    if (typeof current !== "object") return [];
    const entries = head === "*" ? Object.entries(current) : [[head, (current as Record<string, unknown>)[head]]];
    return entries.flatMap(([name, item]) => walk(item, tail, [...path, name as string]));
  };
  return walk(value, pattern, [key]);
}
