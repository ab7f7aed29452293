/**
 * The API keys on the real engine, after the steps of a leaked secret key (A1 add a second secret key, A2 revoke the
 * first, A3 remove it): what kong.yml, the functions and studio hold, and where a revoked key's value must not be.
 */
import { KONG_CONFIG_PATH } from "../../../components/services/kong/gateway";
import { apiKeyResourceSuffix, FUNCTIONS_DEFAULT_KEY } from "../../../components/keyring/apiKeys";
import { OPAQUE_PREFIXES, OPAQUE_RANDOM_LENGTH } from "../../../components/keyring/tokens";
import { COMPONENT_NAME } from "../../../components/program";
import { resourceName, stateResources } from "../engines/pulumi/state";
import { containerOf, type StepContext } from "./deployment";
import { kongCredentials } from "./expected";

/** The name of the secret key the stack always had, which the A steps revoke and remove. */
export const LEAKED_KEY = "secret";

/** The resource its random part lives in. */
const LEAKED_KEY_RESOURCE = `${COMPONENT_NAME}-${apiKeyResourceSuffix({ name: LEAKED_KEY, kind: "secret" })}`;

/** The `apiKeys` output: every active key by name. */
const apiKeysOf = (outputs: Record<string, unknown>) => (outputs.apiKeys ?? {}) as Record<string, string>;

/**
 * `apikeys:served`: every key of the `apiKeys` output is a key-auth credential of its role's consumer in the kong.yml
 * inside kong's container; the functions' `SUPABASE_SECRET_KEYS`/`SUPABASE_PUBLISHABLE_KEYS` parse to every active
 * key (the primary under `default`); studio holds the primary keys (the `publishableKey`/`secretKey` outputs).
 */
export async function checkApiKeysServed({ rec, name, deployment, files }: StepContext): Promise<void> {
  const { outputs, layout } = deployment;
  await rec.attempt(name("apikeys:served"), async () => {
    const keys = apiKeysOf(outputs);
    const kongYml = await files(layout.names.container("kong"), KONG_CONFIG_PATH);
    if (kongYml === undefined) throw new Error("kong's container has no kong.yml");
    const credentials = kongCredentials(kongYml);
    const problems: string[] = [];
    for (const [keyName, value] of Object.entries(keys)) {
      const consumer = value.startsWith("sb_secret_") ? "service_role" : "anon";
      if (!credentials[consumer]?.includes(value)) problems.push(`kong.yml's ${consumer} lacks ${keyName}`);
    }
    const served: string[] = [];
    if (layout.settings.functions.enabled) {
      const env = containerOf(deployment, "functions").env;
      // Each map has its own `default` entry: compare the values of both with the output's.
      const maps = [env.SUPABASE_PUBLISHABLE_KEYS, env.SUPABASE_SECRET_KEYS].map(
        (text) => JSON.parse(text) as Record<string, string>,
      );
      const given = maps.flatMap((map) => Object.values(map)).sort();
      if (given.join() !== Object.values(keys).sort().join()) problems.push("the functions' maps are not every key");
      if (
        maps[0][FUNCTIONS_DEFAULT_KEY] !== outputs.publishableKey ||
        maps[1][FUNCTIONS_DEFAULT_KEY] !== outputs.secretKey
      )
        problems.push("the functions' default entries are not the publishableKey/secretKey outputs");
      served.push(`the functions (${given.length} entries)`);
    }
    if (layout.settings.studio) {
      const env = containerOf(deployment, "studio").env;
      if (env.SUPABASE_SECRET_KEY !== outputs.secretKey || env.SUPABASE_PUBLISHABLE_KEY !== outputs.publishableKey)
        problems.push("studio does not hold the publishableKey/secretKey outputs");
      served.push("studio (the primary keys)");
    }
    if (problems.length) throw new Error(problems.join("; "));
    return `${Object.keys(keys).join(", ")} in kong.yml as credentials of their consumers, and in ${served.join(", ")}`;
  });
}

/**
 * `apikeys:revoked-gone`: the revoked key's value is in no container's environment, in no uploaded file (the
 * uploads the state records and kong.yml in kong's container), in no stack output, and nowhere in the state's plain
 * text; its random part stays in state, encrypted, so it can be restored.
 */
export async function checkRevokedKeyGone(step: StepContext, revoked: string): Promise<void> {
  const { rec, name, deployment, state, files } = step;
  const { containers, outputs, layout } = deployment;
  await rec.attempt(name("apikeys:revoked-gone"), async () => {
    const problems: string[] = [];
    for (const c of Object.values(containers))
      if (Object.values(c.env).some((v) => v.includes(revoked))) problems.push(`${c.name}'s env holds it`);
    for (const r of stateResources(state.plain).filter((x) => x.inputs?.uploads !== undefined)) {
      const uploads = state.decrypted.find((d) => d.urn === r.urn)?.inputs?.uploads;
      if (JSON.stringify(uploads ?? []).includes(revoked)) problems.push(`${resourceName(r.urn)}'s uploads hold it`);
    }
    if ((await files(layout.names.container("kong"), KONG_CONFIG_PATH))?.includes(revoked))
      problems.push("kong.yml in kong's container holds it");
    if (JSON.stringify(outputs).includes(revoked)) problems.push("a stack output holds it");
    const random = revoked.slice(OPAQUE_PREFIXES.secret.length, OPAQUE_PREFIXES.secret.length + OPAQUE_RANDOM_LENGTH);
    if (state.plain.includes(random)) problems.push("its random part is in the state in plain text");
    if (!JSON.stringify(state.decrypted).includes(random)) problems.push("its random part is no longer in state");
    if (problems.length) throw new Error(problems.join("; "));
    return (
      `in none of ${Object.keys(containers).length} containers' env, no upload, no output; its random part only ` +
      "encrypted in state (restore brings it back)"
    );
  });
}

/** `apikeys:removed-from-state`: the removed key's resource has left the state and its name the `apiKeys` output. */
export async function checkRemovedKeyDeleted({ rec, name, deployment, state }: StepContext): Promise<void> {
  await rec.attempt(name("apikeys:removed-from-state"), () => {
    const left = stateResources(state.plain).filter((r) => resourceName(r.urn) === LEAKED_KEY_RESOURCE);
    if (left.length) throw new Error(`the state still has ${left.map((r) => r.urn).join(", ")}`);
    if (LEAKED_KEY in apiKeysOf(deployment.outputs)) throw new Error(`the apiKeys output still names ${LEAKED_KEY}`);
    return `${LEAKED_KEY_RESOURCE} is gone from the state; apiKeys: ${Object.keys(apiKeysOf(deployment.outputs))}`;
  });
}
