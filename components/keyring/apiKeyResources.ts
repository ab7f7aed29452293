/**
 * The API keys' values: a generated key's random part lives in a `RandomPassword` kept in state (revoked keys keep
 * theirs, so a key made active again has its old value), an imported key comes from config. Declares resources only;
 * what each service is given is derived in `apiKeys.ts`.
 */
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { allByName, asSecret } from "../outputs";
import { apiKeyResourceSuffix, apiKeySet, primaryApiKey, type ApiKeyConfig, type ApiKeySet } from "./apiKeys";
import { OPAQUE_PREFIXES, OPAQUE_RANDOM_LENGTH, opaqueKey } from "./tokens";

/** A configured key with its value (secret). */
export interface DeclaredApiKey {
  config: ApiKeyConfig;
  value: pulumi.Output<string>;
}

/**
 * One value per configured key: the imported one, else `<prefix><random from state>_<checksum>`. The randomness is
 * drawn once and kept (the resource's inputs never change), so a key survives every signing-key rotation.
 * @param name the keyring component's name, the prefix of each resource's name.
 */
export function declareApiKeys(name: string, keys: readonly ApiKeyConfig[], parent: pulumi.Resource): DeclaredApiKey[] {
  return keys.map((config) => {
    if (config.value !== undefined) return { config, value: pulumi.secret(config.value) };
    const randomPart = new random.RandomPassword(
      `${name}-${apiKeyResourceSuffix(config)}`,
      { length: OPAQUE_RANDOM_LENGTH, special: true, overrideSpecial: "-_" },
      { parent },
    );
    return {
      config,
      value: pulumi.secret(randomPart.result.apply((r) => opaqueKey(OPAQUE_PREFIXES[config.kind], r))),
    };
  });
}

/**
 * What the keyring hands on: every active key (the gateway's and the functions' set, and the `apiKeys` output) and
 * each kind's primary key. The primary's value waits only for the primary's own resource, so adding a key leaves it
 * known during a preview (and studio, which holds only it, shown unchanged). `gate` joins every value, so that a
 * refused update plans no container with the new keys.
 */
export function apiKeyValues(declared: readonly DeclaredApiKey[], gate: pulumi.Input<string>) {
  const active = declared.filter((key) => key.config.state === "active");
  const set: pulumi.Output<ApiKeySet> = asSecret(
    allByName<{ values: string[]; gate: string }>({
      values: pulumi.all(active.map((key) => key.value)),
      gate,
    }).apply(({ values }) => apiKeySet(active.map((key, i) => ({ ...key.config, value: values[i] })))),
  );
  const primary = (kind: ApiKeyConfig["kind"]): pulumi.Output<string | undefined> => {
    const key = primaryApiKey(
      declared.map((d) => d.config),
      kind,
    );
    const value = declared.find((d) => d.config === key)?.value;
    return asSecret(allByName<{ value?: string; gate: string }>({ value, gate }).apply(({ value }) => value));
  };
  return { apiKeys: set, publishableKey: primary("publishable"), secretKey: primary("secret") };
}
