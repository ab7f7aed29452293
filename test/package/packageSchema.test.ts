/**
 * The package schema that `pulumi package add` generates every language's SDK from: one input per setting of the
 * registry, secrets marked, choices as enums, objects as named types, no union anywhere, every output of a
 * deployment; and the manifests that make the repository a plugin while `index.ts` stays the program.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import * as YAML from "yaml";
import * as z from "zod";
import { CONFIG_KEYS, SETTINGS } from "../../components/config/settings";
import { ALGORITHMS } from "../../components/keyring/algorithms";
import { KEY_STATES } from "../../components/keyring/model";
import { OUTPUTS } from "../../components/package/outputs";
import { packageSchema, typeToken, type PropertySpec, type TypeSpec } from "../../components/package/packageSchema";
import { supabasePackageSchema } from "../../components/package/provider";
import { SUPABASE_TYPE } from "../../components/package/supabase";
import { inputJsonSchema, secretPatterns } from "../../components/schema/introspect";
import { defineSetting } from "../../components/schema/setting";

const ROOT = path.resolve(__dirname, "..", "..");
const schema = supabasePackageSchema("1.2.3") as {
  name: string;
  version: string;
  resources: Record<
    string,
    {
      isComponent: boolean;
      inputProperties: Record<string, PropertySpec>;
      requiredInputs: string[];
      properties: Record<string, PropertySpec>;
      required: string[];
    }
  >;
  types: Record<string, TypeSpec>;
};
const component = schema.resources[SUPABASE_TYPE];
const typeOf = (ref: string | undefined) => schema.types[ref?.replace("#/types/", "") ?? ""];

/** Follows a path of property names (`[]` for list items, `*` for map values) through the schema. */
function specAt(path: readonly string[]): PropertySpec {
  let spec: PropertySpec = component.inputProperties[path[0]];
  for (const part of path.slice(1)) {
    if (part === "[]") spec = spec.items!;
    else if (part === "*") spec = spec.additionalProperties!;
    else spec = typeOf(spec.$ref).properties![part];
    expect(spec, path.join(".")).toBeDefined();
  }
  return spec;
}

/** Every property spec of the schema: the component's inputs and outputs and every type's fields. */
function allSpecs(): Array<[string, PropertySpec]> {
  const found: Array<[string, PropertySpec]> = [];
  const visit = (where: string, spec: PropertySpec) => {
    found.push([where, spec]);
    if (spec.items) visit(`${where}[]`, spec.items);
    if (spec.additionalProperties) visit(`${where}.*`, spec.additionalProperties);
  };
  for (const [key, spec] of Object.entries(component.inputProperties)) visit(key, spec);
  for (const [key, spec] of Object.entries(component.properties)) visit(`output ${key}`, spec);
  for (const [token, type] of Object.entries(schema.types)) {
    for (const [field, spec] of Object.entries(type.properties ?? {})) visit(`${token}.${field}`, spec);
  }
  return found;
}

describe("the package schema", () => {
  it("is the package supabase-selfhosted at the version it is served for, with one component", () => {
    expect(schema.name).toBe("supabase-selfhosted");
    expect(schema.version).toBe("1.2.3");
    expect(Object.keys(schema.resources)).toEqual([SUPABASE_TYPE]);
    expect(component.isComponent).toBe(true);
  });

  it("takes every setting of the registry as an input, and requires only the keyring", () => {
    expect(Object.keys(component.inputProperties)).toEqual(CONFIG_KEYS);
    expect(component.requiredInputs).toEqual(["signingKeys"]);
  });

  it("marks every secret the registry knows, where it sits", () => {
    const secrets = SETTINGS.flatMap((s) => secretPatterns(inputJsonSchema(s.schema)).map((p) => [s.key, ...p]));
    expect(secrets.map((p) => p.join("."))).toEqual(
      expect.arrayContaining(["jwtSecret", "postgresPassword", "signingKeys.[].privateJwk", "auth.smtp.pass"]),
    );
    for (const path of secrets) expect(specAt(path).secret, path.join(".")).toBe(true);
    const marked = allSpecs().filter(([, spec]) => spec.secret && !spec.$ref);
    expect(marked.length).toBe(secrets.length + Object.values(OUTPUTS).filter((o) => "secret" in o).length);
  });

  it("offers choices as enums, e.g. the key states and algorithms", () => {
    const values = (ref: string | undefined) => typeOf(ref).enum?.map((e) => e.value);
    expect(values(specAt(["signingKeys", "[]", "state"]).$ref)).toEqual([...KEY_STATES]);
    expect(values(specAt(["signingKeys", "[]", "algorithm"]).$ref)).toEqual([...ALGORITHMS]);
  });

  it("has one type per value and no union; every reference names a type it defines", () => {
    for (const [where, spec] of allSpecs()) {
      expect(Boolean(spec.type) !== Boolean(spec.$ref), where).toBe(true);
      if (spec.$ref) expect(typeOf(spec.$ref), `${where} → ${spec.$ref}`).toBeDefined();
    }
    expect(JSON.stringify(schema)).not.toMatch(/"(anyOf|oneOf)"/);
  });

  it("documents every input, field and output", () => {
    const undocumented = allSpecs().filter(([where, spec]) => !/\[\]|\.\*$/.test(where) && !spec.description);
    expect(undocumented.map(([where]) => where)).toEqual([]);
    expect(component.inputProperties.jwtExpiry.description).toContain("default: `3600`");
  });

  it("gives `database.publish` its object form: `{}` asks for the defaults, leaving it out is off", () => {
    const publish = typeOf(specAt(["database", "publish"]).$ref);
    expect(Object.keys(publish.properties!)).toEqual(["host", "port"]);
    expect(publish.required).toBeUndefined();
    const parsed = SETTINGS.find((s) => s.key === "database")!.schema.parse({ publish: {} });
    expect(parsed).toEqual({ publish: { host: "127.0.0.1", port: 5432 } });
  });

  it("exposes every output of a deployment, secrets marked, those only some settings give optional", () => {
    expect(Object.keys(component.properties)).toEqual(Object.keys(OUTPUTS));
    for (const [name, spec] of Object.entries(OUTPUTS)) {
      expect(component.properties[name].secret ?? false, name).toBe("secret" in spec);
      expect(component.required.includes(name), name).toBe(!("optional" in spec));
    }
  });

  it("refuses a setting whose type other languages could not take, naming it", () => {
    const union = defineSetting({
      key: "either",
      schema: z.union([z.number(), z.object({ a: z.string() })]).optional(),
      doc: "x",
    });
    expect(() => packageSchema([union], { ...facts(), outputs: {} })).toThrow(/^either: one of several types/);
  });

  it("refuses two settings that would give one type name", () => {
    const one = defineSetting({ key: "a", schema: z.object({ bC: z.object({ d: z.string() }) }), doc: "x" });
    const two = defineSetting({ key: "aB", schema: z.object({ c: z.object({ d: z.string() }) }), doc: "x" });
    expect(() => packageSchema([one, two], { ...facts(), outputs: {} })).toThrow(/would both be the type ABC/);
  });
});

const facts = () => ({ version: "0", description: "d", component: "C", componentDescription: "c" });

describe("the repository as a plugin", () => {
  const read = (file: string) => fs.readFileSync(path.join(ROOT, file), "utf8");

  it("is a Node plugin whose entry serves the provider, while Pulumi.yaml still runs index.ts", () => {
    expect(YAML.parse(read("PulumiPlugin.yaml")).runtime.name).toBe("nodejs");
    const manifest = JSON.parse(read("package.json")) as { main: string };
    expect(read(manifest.main)).toContain("new SupabaseProvider(");
    expect(YAML.parse(read("Pulumi.yaml")).main).toBe("index.ts");
    expect(read("index.ts")).toContain("supabaseProgram()");
  });

  it("shows in the README a YAML program that uses the component by its token, with settings and outputs it has", () => {
    const section = read("README.md").split("## Use it from your own program")[1].split("\n## ")[0];
    const blocks = [...section.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => YAML.parse(m[1]));
    const program = blocks.find((b) => b?.resources?.supabase) as {
      resources: { supabase: { type: string; properties: Record<string, unknown> } };
      outputs: Record<string, string>;
    };
    const [pkg, , name] = SUPABASE_TYPE.split(":");
    expect(program.resources.supabase.type).toBe(`${pkg}:${name}`);
    for (const key of Object.keys(program.resources.supabase.properties)) expect(CONFIG_KEYS).toContain(key);
    for (const ref of Object.values(program.outputs)) {
      expect(Object.keys(OUTPUTS)).toContain(/^\$\{supabase\.(\w+)\}$/.exec(ref)?.[1]);
    }
  });

  it("names its types under the package", () => {
    expect(typeToken("SigningKey")).toBe("supabase-selfhosted:index:SigningKey");
    expect(component.inputProperties.signingKeys.items?.$ref).toBe(`#/types/${typeToken("SigningKey")}`);
  });
});
