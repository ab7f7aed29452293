/**
 * The keyring's own resources served by the package's plugin: when another program's engine constructs the
 * `Supabase` component, its `SigningKey`s and `RotationGuard` are custom resources of this package
 * (`supabase-selfhosted:index:SigningKey`, `…:RotationGuard`), because a dynamic resource's provider would be
 * started in that program's directory, where no Node module is (pulumi/pulumi#5455). The plugin answers the
 * engine's calls for them with the very dynamic providers the program uses, so both behave alike.
 *
 * The two hosts hand values over differently: the dynamic provider host declines secrets, so the engine sends it
 * plain values (pulumi/pulumi `sdk/nodejs/cmd/dynamic-provider/index.ts`, `configure`), while the Node provider
 * server accepts them and passes them on wrapped (`sdk/nodejs/provider/server.ts`). So values are unwrapped on the
 * way in, and on the way out each property that arrived as a secret, or that the resource declares secret, is
 * wrapped again: a provider that accepts secrets answers for them.
 */
import * as pulumi from "@pulumi/pulumi";
import type { CheckResult, CreateResult, DiffResult, UpdateResult } from "@pulumi/pulumi/provider";
import { pluginToken, ROTATION_GUARD_TOKEN, SIGNING_KEY_TOKEN } from "../keyring/resourceTokens";
import { rotationGuardProvider } from "../keyring/rotationGuard";
import { SIGNING_KEY_SECRET_OUTPUTS, signingKeyProvider } from "../keyring/signingKey";

type Props = Record<string, unknown>;

/** The resources the plugin serves, with the provider behind each and the outputs it keeps secret. */
const SERVED: Record<string, { provider: pulumi.dynamic.ResourceProvider; secretOutputs: readonly string[] }> = {
  [pluginToken(SIGNING_KEY_TOKEN)]: { provider: signingKeyProvider, secretOutputs: SIGNING_KEY_SECRET_OUTPUTS },
  [pluginToken(ROTATION_GUARD_TOKEN)]: { provider: rotationGuardProvider, secretOutputs: [] },
};

/** The resource type of a URN (`urn:pulumi:<stack>::<project>::<parent types>$<type>::<name>`). */
export function typeOfUrn(urn: string): string {
  const types = urn.split("::")[2] ?? "";
  return types.slice(types.lastIndexOf("$") + 1);
}

/** The served resource a URN names, or an error naming what the plugin serves. */
function servedFor(urn: string) {
  const served = SERVED[typeOfUrn(urn)];
  if (!served) throw new Error(`unknown resource type ${typeOfUrn(urn)}; served: ${Object.keys(SERVED).join(", ")}`);
  return served;
}

/** A value with every secret wrapper removed, however deep. */
export function unwrapSecrets(value: unknown): unknown {
  if (pulumi.runtime.isRpcSecret(value)) return unwrapSecrets(pulumi.runtime.unwrapRpcSecret(value));
  if (Array.isArray(value)) return value.map(unwrapSecrets);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrapSecrets(v)]));
  }
  return value;
}

/** Whether a value is or holds a secret. */
function holdsSecret(value: unknown): boolean {
  if (pulumi.runtime.isRpcSecret(value)) return true;
  if (value !== null && typeof value === "object") return Object.values(value).some(holdsSecret);
  return false;
}

/** The properties of `props` that are or hold secrets. */
export function secretProperties(...props: Props[]): Set<string> {
  return new Set(props.flatMap((p) => Object.keys(p ?? {}).filter((key) => holdsSecret(p[key]))));
}

/** `props` with each named property wrapped as a secret. */
export function withSecrets(props: Props, secret: Iterable<string>): Props {
  const result = { ...props };
  for (const key of secret) {
    if (key in result && !pulumi.runtime.isRpcSecret(result[key])) {
      result[key] = { [pulumi.runtime.specialSigKey]: pulumi.runtime.specialSecretSig, value: result[key] };
    }
  }
  return result;
}

const plain = (props: Props) => unwrapSecrets(props ?? {}) as Props;

/** The engine's calls for the served resources, as a component provider implements them. */
export const keyResourceCalls = {
  async check(urn: string, olds: Props, news: Props): Promise<CheckResult> {
    const { provider } = servedFor(urn);
    // Without a check of its own, the inputs stand as they came, secrets still wrapped.
    if (!provider.check) return { inputs: news };
    const result = await provider.check(plain(olds), plain(news));
    return { inputs: withSecrets(result.inputs ?? plain(news), secretProperties(news)), failures: result.failures };
  },

  async diff(id: string, urn: string, olds: Props, news: Props): Promise<DiffResult> {
    const { provider } = servedFor(urn);
    return provider.diff ? provider.diff(id, plain(olds), plain(news)) : {};
  },

  async create(urn: string, inputs: Props): Promise<CreateResult> {
    const { provider, secretOutputs } = servedFor(urn);
    const result = await provider.create(plain(inputs));
    return { id: result.id, outs: withSecrets(result.outs ?? {}, [...secretProperties(inputs), ...secretOutputs]) };
  },

  async update(id: string, urn: string, olds: Props, news: Props): Promise<UpdateResult> {
    const { provider, secretOutputs } = servedFor(urn);
    const result = provider.update ? await provider.update(id, plain(olds), plain(news)) : { outs: plain(news) };
    return { outs: withSecrets(result.outs ?? {}, [...secretProperties(olds, news), ...secretOutputs]) };
  },

  async delete(id: string, urn: string, props: Props): Promise<void> {
    const { provider } = servedFor(urn);
    await provider.delete?.(id, plain(props));
  },
};
