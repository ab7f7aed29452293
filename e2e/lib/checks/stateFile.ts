/**
 * The state file after a step: no secret in plain text (private key members, role JWTs, passwords, `sb_` keys),
 * every container env that holds a secret and every upload encrypted, and `--show-secrets` reads them all back.
 */
import {
  CONTAINER_TYPE,
  allStrings,
  isEncryptedSecret,
  resourceName,
  stateResources,
  type StateResource,
} from "../engines/pulumi/state";
import { pluginToken, SIGNING_KEY_TOKEN } from "../../../components/keyring/resourceTokens";
import { RESOURCE_TYPES } from "../../../components/targets/resourceTypes";
import type { StepContext } from "./deployment";

/**
 * The types the `SigningKey`s are recorded under: the program's dynamic-provider resources, and the package's own
 * when another program's engine constructs the `Supabase` component (see components/package/keyResources.ts).
 */
const SIGNING_KEY_TYPES = ["pulumi-nodejs:dynamic:Resource", pluginToken(SIGNING_KEY_TOKEN)];

/** Strings that must never appear in the state file's plain text, collected from the decrypted export. */
export function secretValues(decrypted: StateResource[], outputs: Record<string, unknown>): Map<string, string> {
  const secrets = new Map<string, string>();
  for (const r of decrypted) {
    const name = resourceName(r.urn);
    if (SIGNING_KEY_TYPES.includes(r.type) && r.outputs) {
      const jwk = r.outputs.privateJwk as Record<string, unknown> | undefined;
      for (const member of ["d", "p", "q", "dp", "dq", "qi", "k"]) {
        if (typeof jwk?.[member] === "string") secrets.set(jwk[member] as string, `${name} privateJwk.${member}`);
      }
      for (const token of ["anonKey", "serviceRoleKey"]) {
        if (typeof r.outputs[token] === "string") secrets.set(r.outputs[token] as string, `${name} ${token}`);
      }
    }
    if (r.type === RESOURCE_TYPES.randomPassword && typeof r.outputs?.result === "string") {
      secrets.set(r.outputs.result, `${name} result`);
    }
  }
  for (const key of ["publishableKey", "secretKey", "anonKey", "serviceRoleKey", "dashboardPassword"]) {
    if (typeof outputs[key] === "string") secrets.set(outputs[key] as string, `stack output ${key}`);
  }
  for (const [name, value] of Object.entries((outputs.apiKeys ?? {}) as Record<string, string>)) {
    secrets.set(value, `stack output apiKeys.${name}`);
  }
  return secrets;
}

/** `state:secrets-encrypted`: what the state stores in plain text holds no secret, and every secret reads back. */
export async function checkSecretsEncrypted({ rec, name, deployment, state }: StepContext): Promise<void> {
  const { outputs, layout } = deployment;
  const { plain, decrypted } = state;
  await rec.attempt(name("state:secrets-encrypted"), () => {
    const plainResources = stateResources(plain);
    const problems: string[] = [];
    for (const r of plainResources.filter((x) => x.type === CONTAINER_TYPE)) {
      const container = resourceName(r.urn);
      // Every container whose environment holds a secret (the service module says which: not kong's, nor
      // imgproxy's) gets it as one Pulumi secret; the scan of secret values below catches a plain one that leaks.
      const spec = layout.specs.find((s) => layout.names.container(s.role) === container);
      if ((spec?.secretEnv ?? true) && !isEncryptedSecret(r.inputs?.envs))
        problems.push(`${container} envs are not encrypted`);
      if (r.inputs?.uploads !== undefined && !isEncryptedSecret(r.inputs.uploads))
        problems.push(`${container} uploads are not encrypted`);
    }
    const secrets = secretValues(decrypted, outputs);
    const decryptedText = JSON.stringify(decrypted);
    for (const [value, what] of secrets) {
      if (plain.includes(value)) problems.push(`${what} is in the state in plain text`);
      if (!decryptedText.includes(value)) problems.push(`${what} is not readable with --show-secrets`);
    }
    const plainStrings = allStrings(JSON.parse(plain));
    if (plainStrings.some((s) => /"d"\s*:\s*"/.test(s)))
      problems.push("a private JWK member is in the state in plain text");
    if (problems.length) throw new Error(problems.join("; "));
    return `${secrets.size} secret values (private key members, role JWTs, passwords, sb_ keys) only encrypted; the envs that hold secrets and every upload encrypted`;
  });
}
