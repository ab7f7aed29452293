/**
 * What a program gets from `pulumi preview` for one value of a stack file's `config`, and which values it cannot
 * get as they are written. Pure: YAML nodes in, text out.
 *
 * How the Pulumi CLI reads `Pulumi.<stack>.yaml` (pulumi/pulumi, the same at v3.248.0, the SDK this program pins):
 * - `sdk/go/common/workspace/loaders.go` `LoadProjectStackBytes` decodes the file into Go values with yaml.v3,
 *   encodes them to YAML again and decodes that into a `config.Map`: every scalar is what yaml.v3 resolves its
 *   text to (`goYaml.ts`), and how it was written is gone.
 * - `sdk/go/common/resource/config/object.go` (`unmarshalObject`, `MarshalString`): a string stays as it is, a bool
 *   or a number becomes its JSON text, a date `time.Time.String()`, a list or a map JSON (Go's `encoding/json`: map
 *   keys sorted, a key YAML read as something else written with `%v`); `{secure: …}` is a secret. A top-level null
 *   becomes "" (`checkForEmptyConfig` in loaders.go says so); inside a list or map it stays null.
 * - `sdk/go/common/resource/config/map.go` `Decrypt` hands the program that text. A list or map is read back with
 *   `json.Number` first, so an integer beyond int64 inside one becomes a float64.
 * test/scripts/stackFile.test.ts holds what the Pulumi CLI v3.248.0 handed a program for such values.
 */
import * as YAML from "yaml";
import { configKey } from "../../components/schema/project";
import { formatPath } from "../../components/schema/introspect";
import { goFormatValue, goJsonFloat, goJsonString, resolvePlainScalar, type GoScalar } from "./goYaml";

/** A config value as Pulumi holds it: scalars as Go reads them, secrets unread, lists and maps. */
export type PulumiValue =
  | { kind: "scalar"; scalar: GoScalar }
  | { kind: "secure" }
  | { kind: "list"; items: PulumiValue[] }
  | { kind: "map"; entries: Array<[string, PulumiValue]> };

/** What reading a value needs besides the node: the document (for aliases), and where problems go. */
interface Reading {
  doc: YAML.Document;
  problems: string[];
}

const CORE_TAG = "tag:yaml.org,2002:";

/** The Go value of a scalar node: quoted, block and `!!str` scalars are text; plain ones as yaml.v3 resolves them. */
function goScalarOf(node: YAML.Scalar): { scalar: GoScalar; plainSource?: string } {
  const written = typeof node.value === "string" ? node.value : String(node.value ?? "");
  const tag = node.tag;
  if (tag === `${CORE_TAG}str` || (tag !== undefined && !tag.startsWith(CORE_TAG))) {
    return { scalar: { kind: "string", text: written } };
  }
  if (node.source === undefined) {
    // A node built in memory, not parsed: its value is what it holds.
    return { scalar: typeof node.value === "string" ? { kind: "string", text: written } : resolvePlainScalar(written) };
  }
  if (tag === undefined && node.type !== "PLAIN") return { scalar: { kind: "string", text: written } };
  return { scalar: resolvePlainScalar(node.source), plainSource: node.source };
}

/** How a number is written without its notation: its digits and power of ten (`1.50e3` and `1500` are `15e2`). */
function exactNumber(written: string): string {
  let plain = written.replace(/_/g, "");
  const negative = plain.startsWith("-");
  plain = plain.replace(/^[+-]/, "");
  if (/^0[xXoObB]/.test(plain)) plain = BigInt(plain).toString();
  const match = /^(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(plain);
  if (!match) return written;
  const [, whole, fraction = "", exponent = "0"] = match;
  const digits = `${whole}${fraction}`.replace(/^0+/, "");
  const significant = digits.replace(/0+$/, "");
  const power = Number(exponent) - fraction.length + (digits.length - significant.length);
  return significant === "" ? "0" : `${negative ? "-" : ""}${significant}e${power}`;
}

/**
 * Why the program cannot get a plain scalar as it is written, if it cannot: Pulumi cannot read it at all (`.inf`),
 * hands a date over as Go's time text, drops a number's leading zeros (or reads them as octal), or keeps fewer digits
 * than were written. A number merely written another way (`1e3`, `0x1F`, `+5`) is no problem: its value arrives.
 * @param passed the number or date as the program gets it.
 */
function unkeptProblem(source: string, scalar: GoScalar, passed: string): string | undefined {
  const keep = `quote it ('${source.replace(/'/g, "''")}') to keep it as written`;
  if (scalar.kind === "float" && !Number.isFinite(scalar.value)) {
    return `YAML reads ${source} as a number JSON cannot hold, so pulumi preview cannot read the stack file; ${keep}`;
  }
  const hands = `Pulumi hands the program ${JSON.stringify(passed)}`;
  if (scalar.kind === "time") return `YAML reads ${source} as a date: ${hands}; ${keep}`;
  if (scalar.kind !== "int" && scalar.kind !== "float") return undefined;
  if (/^[+-]?0[0-9]/.test(source.replace(/_/g, ""))) return `YAML reads ${source} as a number: ${hands}; ${keep}`;
  if (exactNumber(source) !== exactNumber(passed)) {
    return `YAML reads ${source} as a number, with more digits than a float64 keeps: ${hands}; ${keep}`;
  }
  return undefined;
}

/** A number's text inside a list or map: an integer beyond int64 comes back from `json.Number` as a float64. */
function jsonNumber(scalar: Extract<GoScalar, { kind: "int" | "float" }>): string {
  if (scalar.kind === "float") return goJsonFloat(scalar.value);
  const int64 = scalar.value >= -(2n ** 63n) && scalar.value < 2n ** 63n;
  return int64 ? String(scalar.value) : goJsonFloat(Number(scalar.value));
}

/** A scalar as the program reads it: at the top level its text, inside a list or map its JSON. */
function scalarText(scalar: GoScalar, nested: boolean): string {
  switch (scalar.kind) {
    case "string":
    case "time":
      return nested ? goJsonString(scalar.text) : scalar.text;
    case "null":
      return nested ? "null" : "";
    case "bool":
      return String(scalar.value);
    case "int":
      return nested ? jsonNumber(scalar) : String(scalar.value);
    case "float":
      return goJsonFloat(scalar.value);
  }
}

/**
 * Reads a scalar node as Pulumi does, noting a problem when the program cannot get it as written. A value Pulumi
 * cannot read at all (`.inf`) is passed on as written: Pulumi stops before the program runs, which the problem says.
 */
function readScalar(node: YAML.Scalar, path: PropertyKey[], nested: boolean, reading: Reading): PulumiValue {
  const { scalar, plainSource } = goScalarOf(node);
  if (plainSource === undefined) return { kind: "scalar", scalar };
  const passed = scalar.kind === "int" && nested ? jsonNumber(scalar) : scalarText(scalar, false);
  const problem = unkeptProblem(plainSource, scalar, passed);
  if (problem !== undefined) reading.problems.push(`${configKey(formatPath(path))}: ${problem}`);
  const unreadable = scalar.kind === "float" && !Number.isFinite(scalar.value);
  return { kind: "scalar", scalar: unreadable ? { kind: "string", text: plainSource } : scalar };
}

/** The text of a map key as Pulumi has it: the key's Go value written with `%v`. */
function keyText(key: unknown): string {
  if (YAML.isScalar(key)) return goFormatValue(goScalarOf(key).scalar);
  return String(key);
}

/** Reads a map node: `{secure: <text>}` is a secret (object.go `isSecureValue`), any other map its entries. */
function readMap(node: YAML.YAMLMap, path: PropertyKey[], reading: Reading): PulumiValue {
  const entries = node.items.map((pair): [string, PulumiValue] => {
    const key = keyText(pair.key);
    return [key, readNode(pair.value, [...path, key], true, reading)];
  });
  const [only] = entries;
  if (entries.length === 1 && only[0] === "secure" && only[1].kind === "scalar" && only[1].scalar.kind === "string") {
    return { kind: "secure" };
  }
  return { kind: "map", entries };
}

/** Reads any node of a config value (an alias as the node it names). */
function readNode(node: unknown, path: PropertyKey[], nested: boolean, reading: Reading): PulumiValue {
  if (YAML.isAlias(node)) return readNode(node.resolve(reading.doc), path, nested, reading);
  if (YAML.isScalar(node)) return readScalar(node, path, nested, reading);
  if (YAML.isSeq(node)) {
    return { kind: "list", items: node.items.map((item, i) => readNode(item, [...path, i], true, reading)) };
  }
  if (YAML.isMap(node)) return readMap(node, path, reading);
  return { kind: "scalar", scalar: { kind: "null" } };
}

/**
 * Reads one top-level config value as Pulumi does.
 * @param name the key without the namespace, for the problems' full keys.
 * @param problems receives, with the full key, each value the program cannot get as it is written.
 */
export function readConfigValue(node: unknown, name: string, doc: YAML.Document, problems: string[]): PulumiValue {
  return readNode(node, [name], false, { doc, problems });
}

/** A value as Go's `encoding/json` writes Pulumi's object of it; secrets are `secure`'s text. */
function goJson(value: PulumiValue, secure: string): string {
  switch (value.kind) {
    case "scalar":
      return scalarText(value.scalar, true);
    case "secure":
      return goJsonString(secure);
    case "list":
      return `[${value.items.map((item) => goJson(item, secure)).join(",")}]`;
    case "map": {
      const sorted = [...value.entries].sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
      return `{${sorted.map(([key, item]) => `${goJsonString(key)}:${goJson(item, secure)}`).join(",")}}`;
    }
  }
}

/**
 * The text the program gets for a top-level config value: a scalar's text, a list or map as JSON.
 * @param secure what stands for a secret, which cannot be read here.
 */
export function configText(value: PulumiValue, secure: string): string {
  if (value.kind === "scalar") return scalarText(value.scalar, false);
  if (value.kind === "secure") return secure;
  return goJson(value, secure);
}
