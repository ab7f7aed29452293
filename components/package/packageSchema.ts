/**
 * The Pulumi package schema of the component package, written from the settings registry: one input property per
 * setting, with the setting's own documentation, its secrets marked `secret`, its choices as enums and its objects as
 * named types. `pulumi package add` generates each language's SDK from it, so a setting added to the registry reaches
 * every language without an edit here. Pure.
 *
 * What Pulumi's schema cannot say (ranges, patterns, which settings go together) the component checks with the same
 * parser as the stack config, before any resource exists. The schema's form is Pulumi's package schema
 * (pulumi/pulumi `pkg/codegen/schema/pulumi.json`): `resources` with `isComponent`, `inputProperties`,
 * `requiredInputs`, `properties` and `required`, and `types` referred to as `#/types/<token>`.
 */
import { inputJsonSchema, type JsonSchema } from "../schema/introspect";
import { defaultOf, typeOf } from "../schema/docs";
import { PROJECT } from "../schema/project";
import type { Setting } from "../schema/setting";

/** A property of a resource or of an object type, as Pulumi's package schema writes it. */
export interface PropertySpec {
  type?: "string" | "integer" | "number" | "boolean" | "array" | "object";
  $ref?: string;
  items?: PropertySpec;
  additionalProperties?: PropertySpec;
  description?: string;
  secret?: boolean;
}

/** A named type: an object with properties, or an enum of strings. */
export interface TypeSpec {
  type: "object" | "string";
  description?: string;
  properties?: Record<string, PropertySpec>;
  required?: string[];
  enum?: Array<{ value: string }>;
}

/** One output of the component: what it holds, whether it is a secret, whether every deployment has it. */
export interface OutputSpec {
  /** A text, or a map of texts (by name). */
  type: "string" | "map";
  description: string;
  secret?: boolean;
  /** Only some settings produce it (studio, the pooler). */
  optional?: boolean;
}

/** What the schema is made of besides the settings. */
export interface PackageFacts {
  version: string;
  description: string;
  /** The component's resource name, e.g. `Supabase` (its token is `<package>:index:<name>`). */
  component: string;
  componentDescription: string;
  outputs: Record<string, OutputSpec>;
}

/** The token of a type or resource of this package. */
export const typeToken = (name: string): string => `${PROJECT}:index:${name}`;

const pascal = (word: string): string => word.charAt(0).toUpperCase() + word.slice(1);

/** The name of one element of a plural setting: `signingKeys` → `SigningKey`, `externalProviders` → `…Provider`. */
const singular = (word: string): string => (word.endsWith("s") ? word.slice(0, -1) : word);

/** Turns the JSON Schema of settings into Pulumi property specs, collecting the named types they refer to. */
class Lowering {
  readonly types: Record<string, TypeSpec> = {};
  private readonly origins: Record<string, string> = {};

  /**
   * The spec of a value at `path` (`["auth", "smtp"]`); `name` is the type name its object or enum would get.
   * @throws when the value is a union other languages cannot take, or two paths would give one type name.
   */
  property(json: JsonSchema, path: string[], name: string, description?: string): PropertySpec {
    const spec = this.shape(json, path, name);
    if (description) spec.description = description;
    if (json["x-secret"]) spec.secret = true;
    return spec;
  }

  private shape(json: JsonSchema, path: string[], name: string): PropertySpec {
    if (json.anyOf) return this.shape(this.withoutUnion(json, path), path, name);
    if (Array.isArray(json.type)) {
      // A scalar that may also be given as a number or flag (`extraEnv` values) takes its text form everywhere.
      if (json.type.includes("string")) return { type: "string" };
      throw new Error(`${path.join(".")}: a value of types ${json.type.join(", ")} has no single type to offer`);
    }
    if (json.enum) return this.named(name, path, enumType(json));
    if (json.type === "array" && json.items) {
      const item = [...path.slice(0, -1), singular(path[path.length - 1])];
      return { type: "array", items: this.property(json.items, item, typeNameOf(item)) };
    }
    if (json.type === "object" && json.properties) return this.named(name, path, this.objectType(json, path));
    if (json.type === "object") {
      const values = typeof json.additionalProperties === "object" ? json.additionalProperties : {};
      const value = [...path.slice(0, -1), singular(path[path.length - 1])];
      return { type: "object", additionalProperties: this.property(values, value, typeNameOf(value)) };
    }
    if (json.type === "string" || json.type === "integer" || json.type === "number" || json.type === "boolean") {
      return { type: json.type };
    }
    throw new Error(`${path.join(".")}: no Pulumi type for ${JSON.stringify(json)}`);
  }

  /**
   * A setting that takes `true` as a shorthand for an object of defaults (`database.publish`) offers the object
   * alone: `{}` asks for the defaults, leaving it out is `false`. Any other union is refused, so that a new setting
   * cannot slip a type into the schema that Go, C# or Java would have to guess.
   */
  private withoutUnion(json: JsonSchema, path: string[]): JsonSchema {
    const branches = json.anyOf ?? [];
    const objects = branches.filter((b) => b.type === "object");
    const flags = branches.filter((b) => b.type === "boolean");
    if (objects.length === 1 && flags.length + objects.length === branches.length) {
      const { anyOf: _union, ...rest } = json;
      return { ...rest, ...objects[0] };
    }
    throw new Error(
      `${path.join(".")}: one of several types (${branches.map(typeOf).join(" or ")}) has no form other ` +
        "languages can take; give the setting one type, or an object that `true` is the shorthand of",
    );
  }

  private objectType(json: JsonSchema, path: string[]): TypeSpec {
    const properties: Record<string, PropertySpec> = {};
    for (const [field, schema] of Object.entries(json.properties ?? {})) {
      const fieldPath = [...path, field];
      const required = json.required?.includes(field) ?? false;
      properties[field] = this.property(schema, fieldPath, typeNameOf(fieldPath), fieldDescription(schema, required));
    }
    const required = (json.required ?? []).filter((field) => field in properties);
    return { type: "object", properties, ...(required.length > 0 ? { required } : {}) };
  }

  private named(name: string, path: string[], spec: TypeSpec): PropertySpec {
    const origin = path.join(".");
    if (this.origins[name] !== undefined && this.origins[name] !== origin) {
      throw new Error(`${origin} and ${this.origins[name]} would both be the type ${name}`);
    }
    this.origins[name] = origin;
    this.types[typeToken(name)] = spec;
    return { $ref: `#/types/${typeToken(name)}` };
  }
}

/** The type name of a path: `auth.smtp` → `AuthSmtp`, `signingKeys` item `state` → `SigningKeyState`. */
const typeNameOf = (path: string[]): string => path.map(pascal).join("");

function enumType(json: JsonSchema): TypeSpec {
  if (!json.enum?.every((value): value is string => typeof value === "string")) {
    throw new Error(`only choices of text become enums: ${JSON.stringify(json.enum)}`);
  }
  return { type: "string", enum: json.enum.map((value) => ({ value })) };
}

/** What a value takes and its default (or that it is required), as the docs tables say them. */
const typeAndDefault = (type: string, fallback: string): string =>
  `${type}; ${fallback === "required" ? "required" : `default: ${fallback}`}.`;

/** A field's documentation, then what it takes and its default. */
function fieldDescription(json: JsonSchema, required: boolean): string {
  const about = json.description ? `${json.description}\n\n` : "";
  return about + typeAndDefault(typeOf(json), defaultOf(json, required));
}

/**
 * A setting's documentation, then what a scalar takes and its default, as the configuration reference says them (a
 * list's or an object's fields say their own, in their type).
 */
function settingDescription(setting: Setting, json: JsonSchema, required: boolean): string {
  const structured = json.type === "array" || json.type === "object" || json.anyOf !== undefined;
  if (structured) return required ? `${setting.doc} (required)` : setting.doc;
  return `${setting.doc}\n\n${typeAndDefault(setting.type ?? typeOf(json), setting.default ?? defaultOf(json, required))}`;
}

/** The settings every deployment must give: those without a default (the keyring). */
export function requiredSettings(settings: readonly Setting[]): string[] {
  return settings.filter((setting) => !setting.schema.safeParse(undefined).success).map((setting) => setting.key);
}

/**
 * The package schema: the component, its inputs (one per setting) and outputs, and the types they refer to.
 * @throws when a setting's type has no form in Pulumi's schema (see {@link Lowering}).
 */
export function packageSchema(settings: readonly Setting[], facts: PackageFacts): Record<string, unknown> {
  const lowering = new Lowering();
  const required = requiredSettings(settings);
  const inputProperties = Object.fromEntries(
    settings.map((setting) => {
      const json = inputJsonSchema(setting.schema);
      const description = settingDescription(setting, json, required.includes(setting.key));
      return [setting.key, lowering.property(json, [setting.key], pascal(setting.key), description)];
    }),
  );
  const properties = Object.fromEntries(
    Object.entries(facts.outputs).map(([name, output]) => [
      name,
      {
        ...(output.type === "map" ? { type: "object", additionalProperties: { type: "string" } } : { type: "string" }),
        description: output.description,
        ...(output.secret ? { secret: true } : {}),
      },
    ]),
  );
  return {
    name: PROJECT,
    displayName: "Self-hosted Supabase",
    version: facts.version,
    description: facts.description,
    license: "Apache-2.0",
    keywords: ["supabase", "self-hosted", "jwt", "kind/component", "category/database"],
    resources: {
      [typeToken(facts.component)]: {
        isComponent: true,
        description: facts.componentDescription,
        inputProperties,
        requiredInputs: required,
        properties,
        required: Object.keys(facts.outputs).filter((name) => !facts.outputs[name].optional),
      },
    },
    types: lowering.types,
  };
}
