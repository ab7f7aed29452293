/**
 * `SigningKey`: a dynamic resource whose state holds one JWT signing key and its pre-signed role JWTs.
 *
 * Randomness (the key pair, ECDSA signatures, the issue time) happens once, in `create`, and then lives in
 * Pulumi state, so re-running the program changes nothing. The provider object below is serialized with its
 * closure into state by the engine; everything it calls requires its modules inside the function bodies.
 */
import { pluginToken, SIGNING_KEY_TOKEN } from "./resourceTokens";
import * as pulumi from "@pulumi/pulumi";
import { ALGORITHMS, type Algorithm } from "./algorithms";
import { UNKNOWN_INPUT } from "./engineValues";
import { canonicalJson, publicJwk, type Jwk } from "./model";
import { generateSigningJwk, importSigningJwk, mintRoleTokens } from "./tokens";

/** The algorithms a `SigningKey` can hold: the asymmetric ones, plus HS256 for the imported legacy secret. */
export type SigningKeyAlgorithm = Algorithm | "HS256";

/** Inputs of a `SigningKey` as the provider receives them (plain values). */
export interface SigningKeyInputs {
  /** Identity: changing it replaces the key. */
  algorithm: SigningKeyAlgorithm;
  /** Identity: imported private JWK as JSON text (secret); absent to generate a key. */
  importedJwk?: string;
  /** Lifetime of the pre-signed role JWTs; changing it re-mints them and keeps the key. */
  apiKeyLifetimeDays: number;
}

/** Everything a `SigningKey` stores (its outputs). */
export interface SigningKeyOutputs extends SigningKeyInputs {
  kid: string;
  /** The private key in signing form (secret). */
  privateJwk: Jwk;
  /** The public half, verify-only; absent for the legacy `oct` key, which has none. */
  publicJwk: Jwk | null;
  /** ISO 8601 time the key was created. */
  createdAt: string;
  /** Unix seconds the role JWTs were issued at and expire at. */
  issuedAt: number;
  expiresAt: number;
  /** Pre-signed role JWTs (secret). */
  anonKey: string;
  serviceRoleKey: string;
}

/** Inputs that define which key this is; a change to any of them means a new key. */
const IDENTITY_INPUTS = ["algorithm", "importedJwk"] as const;

/** Outputs that survive an in-place update unchanged. */
const STABLE_OUTPUTS = ["kid", "privateJwk", "publicJwk", "createdAt", "algorithm", "importedJwk"];

/** Outputs the engine must encrypt in state. */
export const SIGNING_KEY_SECRET_OUTPUTS = ["privateJwk", "importedJwk", "anonKey", "serviceRoleKey"];

function sameIdentity(
  name: (typeof IDENTITY_INPUTS)[number],
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
): boolean {
  const before = olds[name];
  const after = news[name];
  if (after === UNKNOWN_INPUT) return false;
  if (name === "importedJwk" && typeof before === "string" && typeof after === "string") {
    // A reformatted copy of the same key is the same key.
    return canonicalJson(JSON.parse(before)) === canonicalJson(JSON.parse(after));
  }
  return before === after;
}

/** Builds a key's private JWK: imported material (legacy `oct` or asymmetric) or a freshly generated pair. */
async function materialize(inputs: SigningKeyInputs): Promise<Jwk> {
  if (inputs.algorithm === "HS256") {
    if (typeof inputs.importedJwk !== "string") throw new Error("an HS256 key must be imported (the legacy jwtSecret)");
    const oct = JSON.parse(inputs.importedJwk) as Jwk;
    if (oct.kty !== "oct" || typeof oct.k !== "string" || typeof oct.kid !== "string") {
      throw new Error("an HS256 key must be an oct JWK with k and kid");
    }
    return oct;
  }
  return inputs.importedJwk !== undefined
    ? importSigningJwk(inputs.importedJwk, inputs.algorithm)
    : generateSigningJwk(inputs.algorithm);
}

function inputsOf(props: Record<string, unknown>): SigningKeyInputs {
  const algorithm = props.algorithm as SigningKeyAlgorithm;
  if (![...ALGORITHMS, "HS256"].includes(algorithm)) {
    throw new Error(
      `unsupported signing key algorithm ${JSON.stringify(algorithm)}; allowed: ${ALGORITHMS.join(", ")}`,
    );
  }
  const days = props.apiKeyLifetimeDays;
  if (typeof days !== "number" || !Number.isInteger(days) || days <= 0) {
    throw new Error(`apiKeyLifetimeDays must be a positive integer, got ${JSON.stringify(days)}`);
  }
  const importedJwk = props.importedJwk;
  if (importedJwk !== undefined && importedJwk !== null && typeof importedJwk !== "string") {
    throw new Error("importedJwk must be JSON text");
  }
  return {
    algorithm,
    apiKeyLifetimeDays: days,
    ...(typeof importedJwk === "string" ? { importedJwk } : {}),
  };
}

/** Creates a key: generate or import, then mint its role JWTs. */
export async function createSigningKey(
  props: Record<string, unknown>,
  now: Date = new Date(),
): Promise<SigningKeyOutputs> {
  const inputs = inputsOf(props);
  const privateJwk = await materialize(inputs);
  const issuedAt = Math.floor(now.getTime() / 1000);
  const tokens = await mintRoleTokens(privateJwk, issuedAt, inputs.apiKeyLifetimeDays);
  return {
    ...inputs,
    kid: privateJwk.kid as string,
    privateJwk,
    publicJwk: privateJwk.kty === "oct" ? null : publicJwk(privateJwk),
    createdAt: now.toISOString(),
    ...tokens,
  };
}

/**
 * The dynamic provider. `diff` compares identity inputs only (never the serialized provider), so editing this
 * code shows no change; `update` keeps the key and re-mints the role JWTs for a new lifetime.
 */
export const signingKeyProvider: pulumi.dynamic.ResourceProvider = {
  async create(props) {
    const outs = await createSigningKey(props);
    return { id: outs.kid, outs };
  },

  async diff(_id, olds, news) {
    const replaces = IDENTITY_INPUTS.filter((name) => !sameIdentity(name, olds, news));
    const lifetimeChanged =
      news.apiKeyLifetimeDays === UNKNOWN_INPUT || olds.apiKeyLifetimeDays !== news.apiKeyLifetimeDays;
    return {
      changes: replaces.length > 0 || lifetimeChanged,
      replaces: [...replaces],
      stables: replaces.length > 0 ? [] : STABLE_OUTPUTS,
      deleteBeforeReplace: false,
    };
  },

  async update(_id, olds, news) {
    const inputs = inputsOf(news);
    const tokens = await mintRoleTokens(
      olds.privateJwk as Jwk,
      Math.floor(Date.now() / 1000),
      inputs.apiKeyLifetimeDays,
    );
    return { outs: { ...olds, ...inputs, ...tokens } };
  },

  async delete() {
    // Nothing outside Pulumi state holds the key: deleting the resource forgets it.
  },
};

/** Arguments of a {@link SigningKey}. */
export interface SigningKeyArgs {
  /** `ES256`, `RS256` or `EdDSA`; `HS256` only for the imported legacy secret. Changing it creates a new key. */
  algorithm: pulumi.Input<SigningKeyAlgorithm>;
  /** A private JWK to import instead of generating one (JSON text; pass it as a secret). Its kid is kept. */
  importedJwk?: pulumi.Input<string>;
  /** Lifetime in days of the key's pre-signed anon and service_role JWTs. */
  apiKeyLifetimeDays: pulumi.Input<number>;
}

/** What a key resource holds, however it is kept (see `KeyResources`). */
interface SigningKeyFields {
  readonly algorithm: pulumi.Output<SigningKeyAlgorithm>;
  readonly kid: pulumi.Output<string>;
  readonly privateJwk: pulumi.Output<Jwk>;
  readonly publicJwk: pulumi.Output<Jwk | null>;
  readonly createdAt: pulumi.Output<string>;
  readonly issuedAt: pulumi.Output<number>;
  readonly expiresAt: pulumi.Output<number>;
  readonly anonKey: pulumi.Output<string>;
  readonly serviceRoleKey: pulumi.Output<string>;
}

/** The inputs, with every output named (the engine fills them in), and the secret outputs added to the options. */
function registration(args: SigningKeyArgs, opts?: pulumi.CustomResourceOptions) {
  const outputs = Object.fromEntries(
    ["kid", "privateJwk", "publicJwk", "createdAt", "issuedAt", "expiresAt", "anonKey", "serviceRoleKey"].map(
      (name) => [name, undefined],
    ),
  );
  return {
    props: { ...args, ...outputs },
    opts: {
      ...opts,
      additionalSecretOutputs: [...SIGNING_KEY_SECRET_OUTPUTS, ...(opts?.additionalSecretOutputs ?? [])],
    },
  };
}

/** One JWT signing key kept in Pulumi state, with its public half, kid and pre-signed role JWTs. */
export interface SigningKey extends SigningKeyFields {}
export class SigningKey extends pulumi.dynamic.Resource {
  constructor(name: string, args: SigningKeyArgs, opts?: pulumi.CustomResourceOptions) {
    const { props, opts: options } = registration(args, opts);
    super(signingKeyProvider, name, props, options, SIGNING_KEY_TOKEN.module, SIGNING_KEY_TOKEN.type);
  }
}

/** The same key as a custom resource served by the package's plugin, with {@link signingKeyProvider} behind it. */
export interface PluginSigningKey extends SigningKeyFields {}
export class PluginSigningKey extends pulumi.CustomResource {
  constructor(name: string, args: SigningKeyArgs, opts?: pulumi.CustomResourceOptions) {
    const { props, opts: options } = registration(args, opts);
    super(pluginToken(SIGNING_KEY_TOKEN), name, props, options);
  }
}
