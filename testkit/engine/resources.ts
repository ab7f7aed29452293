/**
 * What the mock engines store for a resource the first time it is created: our dynamic providers' real `check` and
 * `create`, random values for `@pulumi/random`, and for Docker and Kubernetes resources their inputs plus the few
 * computed outputs the program reads.
 */
import type * as pulumi from "@pulumi/pulumi";
import { createHash, randomBytes } from "node:crypto";
import { checkRotationGuard, rotationGuardProvider } from "../../components/keyring/rotationGuard";
import { pluginToken, ROTATION_GUARD_TOKEN, SIGNING_KEY_TOKEN } from "../../components/keyring/resourceTokens";
import { signingKeyProvider } from "../../components/keyring/signingKey";
import { RESOURCE_TYPES } from "../../components/targets/resourceTypes";

/** Resource types the engines tell apart, as the SDK names them. */
export const TYPES = RESOURCE_TYPES;

/** A `SigningKey`, as the program's dynamic resource or as the package's plugin serves it (`keyResources`). */
export const isSigningKey = (type: string): boolean =>
  type === TYPES.signingKey || type === pluginToken(SIGNING_KEY_TOKEN);

/** The `RotationGuard`, either way it is kept. */
export const isRotationGuard = (type: string): boolean =>
  type === TYPES.rotationGuard || type === pluginToken(ROTATION_GUARD_TOKEN);

/** A created resource: its id and state, and its inputs as `check` rewrote them (the engine keeps checked inputs). */
export interface Created {
  id: string;
  state: Record<string, unknown>;
  inputs?: Record<string, unknown>;
}

const BASE64URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** A `RandomPassword`/`RandomString` result of its length and alphabet. */
function randomState(args: pulumi.runtime.MockResourceArgs, inputs: Record<string, unknown>): Created {
  const length = Number(inputs.length ?? 16);
  const special = inputs.special === false ? "" : String(inputs.overrideSpecial ?? "!@#$%&*()-_=+[]{}<>:?");
  const alphabet = BASE64URL_ALPHABET + special;
  const result = Array.from(randomBytes(length), (b) => alphabet[b % alphabet.length]).join("");
  return {
    id: args.name,
    state: { ...inputs, result, ...(args.type.endsWith("RandomPassword") ? { bcryptHash: "mock" } : {}) },
  };
}

/** Docker resources: state = inputs, plus the computed outputs the program reads. */
export function dockerState(args: pulumi.runtime.MockResourceArgs, inputs: Record<string, unknown>) {
  const computed: Record<string, unknown> = {};
  if (args.type === TYPES.remoteImage) {
    computed.imageId = `sha256:${createHash("sha256").update(String(inputs.name)).digest("hex")}`;
    computed.repoDigest = `${inputs.name}@${computed.imageId}`;
  }
  if (args.type === TYPES.network || args.type === TYPES.volume) computed.name = inputs.name ?? args.name;
  if (args.type === TYPES.service) {
    // A stand-in for the cluster IP the API server allocates: stable per Service, as the real one is for its life.
    const hash = createHash("sha256").update(args.name).digest();
    computed.spec = { ...(inputs.spec as object), clusterIP: `10.96.${hash[0]}.${hash[1]}` };
  }
  return { ...inputs, ...computed };
}

/**
 * Checks a RotationGuard's inputs against the stored ones at `now`; a failure fails the run the way the engine
 * fails a preview, with the engine's wording.
 */
export function checkGuard(
  args: pulumi.runtime.MockResourceArgs,
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
  now: Date,
): Record<string, unknown> {
  const { inputs, failures } = checkRotationGuard(olds, news, now);
  if (failures.length > 0) {
    throw new Error(failures.map((f) => `${args.type} resource '${args.name}' has a problem: ${f.reason}`).join("\n"));
  }
  return inputs;
}

/** The state of a resource created from `inputs` (plain values) at `now`. */
export async function create(
  args: pulumi.runtime.MockResourceArgs,
  inputs: Record<string, unknown>,
  now: Date,
): Promise<Created> {
  if (isSigningKey(args.type)) {
    const { id, outs } = await signingKeyProvider.create(inputs);
    return { id, state: outs };
  }
  if (isRotationGuard(args.type)) {
    const checked = checkGuard(args, {}, inputs, now);
    const { id, outs } = await rotationGuardProvider.create(checked);
    return { id, state: outs, inputs: checked };
  }
  if (args.type.startsWith("random:")) return randomState(args, inputs);
  return { id: `${args.name}-id`, state: dockerState(args, inputs) };
}
