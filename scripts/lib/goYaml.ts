/**
 * How Go reads and writes one YAML scalar on the Pulumi CLI's way from a stack file to a program. gopkg.in/yaml.v3
 * (v3.0.1, the version pulumi/pulumi `sdk/go.mod` pins) resolves a plain scalar's text to a bool, a number, a date,
 * null or a string (go-yaml/yaml `resolve.go`, `resolve` and `parseTimestamp`); Pulumi then writes the value as Go
 * does: as JSON (`encoding/json`), with `%v` (a map key) or as `time.Time.String()` (a date). The `yaml` library
 * this editor parses with reads YAML 1.2's core schema instead (`0123` is 123 there, `2026-12-03` a string), so the
 * editor asks this module what Pulumi makes of a scalar. Pure.
 */

/** A YAML scalar as yaml.v3 reads it into a Go value. */
export type GoScalar =
  | { kind: "string"; text: string }
  | { kind: "null" }
  | { kind: "bool"; value: boolean }
  /** An int64, or a uint64 beyond it: yaml.v3 tries `strconv.ParseInt`, then `strconv.ParseUint`. */
  | { kind: "int"; value: bigint }
  /** A float64; NaN and ±Inf included (`.nan`, `.inf`), which Go's JSON cannot write. */
  | { kind: "float"; value: number }
  /** A `time.Time`, held as the text `time.Time.String()` gives it. */
  | { kind: "time"; text: string };

const text = (value: string): GoScalar => ({ kind: "string", text: value });
const float = (value: number): GoScalar => ({ kind: "float", value });

/** The words yaml.v3 resolves by lookup (`resolveMapList`): YAML 1.2's booleans and nulls, no `yes`/`no`/`on`. */
const WORDS = new Map<string, GoScalar>([
  ...["true", "True", "TRUE"].map((w): [string, GoScalar] => [w, { kind: "bool", value: true }]),
  ...["false", "False", "FALSE"].map((w): [string, GoScalar] => [w, { kind: "bool", value: false }]),
  ...["", "~", "null", "Null", "NULL"].map((w): [string, GoScalar] => [w, { kind: "null" }]),
  ...[".nan", ".NaN", ".NAN"].map((w): [string, GoScalar] => [w, float(NaN)]),
  ...[".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"].map((w): [string, GoScalar] => [w, float(Infinity)]),
  ...["-.inf", "-.Inf", "-.INF"].map((w): [string, GoScalar] => [w, float(-Infinity)]),
]);

/** yaml.v3's `yamlStyleFloat`: the only floats it reads, besides those starting with `.`. */
const YAML_STYLE_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;

/** What `strconv.ParseInt(s, 0, 64)` and `strconv.ParseUint(s, 0, 64)` accept: Go's literal prefixes, `0` octal. */
const GO_INTEGER = /^([+-]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$/;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

/** The integer yaml.v3 reads (ParseInt with base 0, then ParseUint), or nothing when both refuse the text. */
function goInteger(plain: string): bigint | undefined {
  const match = GO_INTEGER.exec(plain);
  if (!match) return undefined;
  const [, sign, digits] = match;
  // Base 0 reads a leading 0 as octal: 0123 is 83.
  const literal = /^0[0-7]+$/.test(digits) ? `0o${digits.slice(1)}` : digits;
  const value = sign === "-" ? -BigInt(literal) : BigInt(literal);
  // ParseUint takes no sign, so only an unsigned literal may go beyond int64.
  const max = sign === "" ? UINT64_MAX : INT64_MAX;
  return value >= INT64_MIN && value <= max ? value : undefined;
}

/** The layouts yaml.v3's `parseTimestamp` tries (`allowedTimestampFormats`), as patterns. */
const TIMESTAMPS = [
  /^(\d{4})-(\d{1,2})-(\d{1,2})[Tt](\d{1,2}):(\d{1,2}):(\d{1,2})(?:[.,](\d+))?(Z|[+-]\d{2}:\d{2})$/,
  /^(\d{4})-(\d{1,2})-(\d{1,2}) (\d{1,2}):(\d{1,2}):(\d{1,2})(?:[.,](\d+))?()$/,
  /^(\d{4})-(\d{1,2})-(\d{1,2})()()()()()$/,
];

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

/**
 * `time.Time.String()` of a timestamp yaml.v3 reads, or nothing when `time.Parse` refuses it (a field out of
 * range). A date without a zone is UTC; an offset gets a zone named by the offset, unless the deploying machine's
 * own zone has that offset then (Go `time.Parse` then names it after that zone): the text depends on the machine.
 */
function goTimestamp(value: string): string | undefined {
  for (const layout of TIMESTAMPS) {
    const match = layout.exec(value);
    if (!match) continue;
    const [year, month, day, hour, minute, second] = match.slice(1, 7).map((n) => Number(n ?? 0));
    const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
    const daysInMonth = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
    if (month < 1 || month > 12 || day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 59) {
      return undefined;
    }
    const zone = match[8];
    if (zone && zone !== "Z" && (Number(zone.slice(1, 3)) > 24 || Number(zone.slice(4)) > 60)) return undefined;
    // Nanoseconds: at most 9 digits are read, trailing zeros are not written.
    const fraction = (match[7] ?? "").slice(0, 9).replace(/0+$/, "");
    // A zero offset is UTC on a machine in UTC (as CI runs), Go's own zone for it.
    const offset = zone && zone !== "Z" && !/^.00:00$/.test(zone) ? zone.replace(":", "") : undefined;
    const clock = `${pad(hour)}:${pad(minute)}:${pad(second)}${fraction ? `.${fraction}` : ""}`;
    return `${pad(year, 4)}-${pad(month)}-${pad(day)} ${clock} ${offset ? `${offset} ${offset}` : "+0000 UTC"}`;
  }
  return undefined;
}

/**
 * The Go value yaml.v3 reads from a plain (unquoted, untagged) scalar's text, as its `resolve` does: a lookup of
 * the words above, then by the first character a float (`.5`), or a date, an integer (underscores dropped, `0x`,
 * `0o`, `0b` and a leading `0` for octal) or a float; anything else is the text itself.
 */
export function resolvePlainScalar(source: string): GoScalar {
  const word = WORDS.get(source);
  if (word) return word;
  if (source.startsWith(".")) {
    const value = /^\.[0-9]+([eE][-+]?[0-9]+)?$/.test(source) ? Number(source) : NaN;
    return Number.isFinite(value) ? float(value) : text(source);
  }
  if (!/^[-+0-9]/.test(source)) return text(source);
  const time = goTimestamp(source);
  if (time !== undefined) return { kind: "time", text: time };
  const plain = source.replace(/_/g, "");
  const integer = goInteger(plain);
  if (integer !== undefined) return { kind: "int", value: integer };
  // strconv.ParseFloat refuses what overflows a float64, so such a number stays text.
  if (YAML_STYLE_FLOAT.test(plain) && Number.isFinite(Number(plain))) return float(Number(plain));
  return text(source);
}

/**
 * A float64 as Go's `encoding/json` writes it. JavaScript writes the same: both the shortest digits that read back
 * to the same float, both in exponent form below 1e-6 and from 1e21 on (Go's `floatEncoder` shortens `e-07` to `e-7`).
 */
export function goJsonFloat(value: number): string {
  return String(value);
}

/** A string as Go's `encoding/json` writes it: as JSON.stringify, and `<`, `>`, `&`, U+2028, U+2029 escaped too. */
export function goJsonString(value: string): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** A float64 as Go's `%v` writes it (`strconv.FormatFloat(f, 'g', -1, 64)`): exponent form from 1e6 on or below 1e-4. */
function goFormatFloat(value: number): string {
  if (!Number.isFinite(value)) return Number.isNaN(value) ? "NaN" : value > 0 ? "+Inf" : "-Inf";
  const [digits, exponent] = value.toExponential().split("e");
  const exp = Number(exponent);
  if (exp < -4 || exp >= 6) return `${digits}e${exp < 0 ? "-" : "+"}${pad(Math.abs(exp))}`;
  return String(value);
}

/** A scalar as Go's `%v` writes it: how Pulumi names a map key that YAML read as something else than text. */
export function goFormatValue(scalar: GoScalar): string {
  switch (scalar.kind) {
    case "string":
    case "time":
      return scalar.text;
    case "null":
      return "<nil>";
    case "bool":
    case "int":
      return String(scalar.value);
    case "float":
      return goFormatFloat(scalar.value);
  }
}
