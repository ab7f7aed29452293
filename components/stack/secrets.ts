/**
 * The secrets the stack generates with `@pulumi/random` and keeps in state: one row per secret, with the resource
 * it lives in and its length. Services read them by name (`StackSecrets`).
 */
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { asSecret } from "../outputs";
import { SERVICE_DB_ROLES, type ServiceDbRole } from "../services/db/init";
import { REALTIME_SECRET_LENGTHS } from "../services/realtime";
import type { StackSecrets, StackSettings } from "../services/service";

/** One generated secret: a `RandomPassword` named `<stack>-<resource>` of `length` letters and digits. */
interface GeneratedSecret {
  resource: string;
  length: number;
  /** Whether it exists with these settings (absent: always). */
  when?(settings: StackSettings): boolean;
}

/** Every generated secret but the per-role database passwords. */
const GENERATED: Record<keyof StackSecrets, GeneratedSecret> = {
  postgresPassword: { resource: "db-password", length: 32 },
  realtimeSecretKeyBase: { resource: "realtime-secret-key-base", length: REALTIME_SECRET_LENGTHS.secretKeyBase },
  realtimeDbEncKey: { resource: "realtime-db-enc-key", length: REALTIME_SECRET_LENGTHS.dbEncKey },
  metaCryptoKey: { resource: "meta-crypto-key", length: 32, when: (settings) => settings.studio },
  dashboardPassword: { resource: "dashboard-password", length: 32, when: (settings) => settings.studio },
};

/** Each service role's own password: `<stack>-db-password-<role with dashes>`. */
const ROLE_PASSWORD_LENGTH = 32;

/** The generated secrets as outputs, each a Pulumi secret; those whose `when` is false are absent. */
export interface SecretOutputs {
  secrets: { [K in keyof StackSecrets]: pulumi.Output<StackSecrets[K]> };
  dbPasswords: Record<ServiceDbRole, pulumi.Output<string>>;
}

/** Declares every generated secret these settings need, as children of `parent`. */
export function declareSecrets(name: string, settings: StackSettings, parent: pulumi.Resource): SecretOutputs {
  const password = (resource: string, length: number) =>
    asSecret(new random.RandomPassword(`${name}-${resource}`, { length, special: false }, { parent }).result);
  const dbPasswords = Object.fromEntries(
    SERVICE_DB_ROLES.map((role) => [role, password(`db-password-${role.replace(/_/g, "-")}`, ROLE_PASSWORD_LENGTH)]),
  ) as Record<ServiceDbRole, pulumi.Output<string>>;
  const generated = Object.fromEntries(
    Object.entries(GENERATED)
      .filter(([, secret]) => secret.when?.(settings) ?? true)
      .map(([key, secret]) => [key, password(secret.resource, secret.length)]),
  );
  return { secrets: generated as SecretOutputs["secrets"], dbPasswords };
}
