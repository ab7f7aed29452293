/**
 * The secrets the stack generates with `@pulumi/random` and keeps in state: one row per secret, with the resource
 * it lives in and its length. Services read them by name (`StackSecrets`).
 */
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { asSecret } from "../outputs";
import { SERVICE_DB_ROLES, type ServiceDbRole } from "../services/db/init";
import { POOLER_SECRET_LENGTHS } from "../services/pooler/pooler";
import { REALTIME_SECRET_LENGTHS } from "../services/realtime/realtime";
import type { StackSecrets, StackSettings } from "../services/service";

/** One generated secret: a `RandomPassword` named `<stack>-<resource>` of `length` letters and digits. */
interface GeneratedSecret {
  resource: string;
  length: number;
  /** Whether it exists with these settings (absent: always). */
  when?(settings: StackSettings): boolean;
  /** The value the config gives instead, if any: then nothing is generated. */
  fromConfig?(settings: StackSettings): string | undefined;
}

/** The length of each service's own HS256 secret: the legacy secret's (64 characters, 380 bits). */
const OWN_HS256_SECRET_LENGTH = 64;

/** A service's own HS256 secret: generated only when `legacyHs256` is off (and the service runs). */
function ownHs256Secret(role: string, runs: (settings: StackSettings) => boolean = () => true): GeneratedSecret {
  return {
    resource: `${role}-jwt-secret`,
    length: OWN_HS256_SECRET_LENGTH,
    when: (settings) => !settings.legacyHs256 && runs(settings),
  };
}

/** Every generated secret but the per-role database passwords. */
const GENERATED: Record<keyof StackSecrets, GeneratedSecret> = {
  postgresPassword: { resource: "db-password", length: 32, fromConfig: (settings) => settings.postgresPassword },
  realtimeSecretKeyBase: { resource: "realtime-secret-key-base", length: REALTIME_SECRET_LENGTHS.secretKeyBase },
  realtimeDbEncKey: { resource: "realtime-db-enc-key", length: REALTIME_SECRET_LENGTHS.dbEncKey },
  metaCryptoKey: { resource: "meta-crypto-key", length: 32, when: (settings) => settings.studio },
  dashboardPassword: { resource: "dashboard-password", length: 32, when: (settings) => settings.studio },
  poolerSecretKeyBase: {
    resource: "pooler-secret-key-base",
    length: POOLER_SECRET_LENGTHS.secretKeyBase,
    when: (settings) => settings.pooler.enabled,
  },
  poolerVaultEncKey: {
    resource: "pooler-vault-enc-key",
    length: POOLER_SECRET_LENGTHS.vaultEncKey,
    when: (settings) => settings.pooler.enabled,
  },
  // The lengths of upstream's .env.example values (32 and 64 hex digits).
  s3ProtocolAccessKeyId: { resource: "storage-s3-access-key-id", length: 32 },
  s3ProtocolAccessKeySecret: { resource: "storage-s3-access-key-secret", length: 64 },
  // Each service's own HS256 secret, only without the shared legacy one (see hs256Secret in services/service.ts).
  authJwtSecret: ownHs256Secret("auth"),
  realtimeJwtSecret: ownHs256Secret("realtime"),
  storageJwtSecret: ownHs256Secret("storage"),
  studioJwtSecret: ownHs256Secret("studio", (settings) => settings.studio),
  poolerJwtSecret: ownHs256Secret("pooler", (settings) => settings.pooler.enabled),
  backupReplicationPassword: {
    resource: "backup-replication-password",
    length: 32,
    when: (settings) => settings.backup.enabled,
  },
};

/** Each service role's own password: `<stack>-db-password-<role with dashes>`. */
const ROLE_PASSWORD_LENGTH = 32;

/** The generated secrets as outputs, each a Pulumi secret; those whose `when` is false are absent. */
export interface SecretOutputs {
  secrets: { [K in keyof StackSecrets]: pulumi.Output<StackSecrets[K]> };
  dbPasswords: Record<ServiceDbRole, pulumi.Output<string>>;
}

/**
 * Declares every generated secret these settings need, as children of `parent`. With `postgresPassword` set, the
 * superuser and every service role use it and no database password is generated: it comes from config, so it
 * stays the same across `pulumi destroy` and a fresh `pulumi up` on the kept data volume.
 */
export function declareSecrets(name: string, settings: StackSettings, parent: pulumi.Resource): SecretOutputs {
  const password = (resource: string, length: number) =>
    asSecret(new random.RandomPassword(`${name}-${resource}`, { length, special: false }, { parent }).result);
  // Upstream's roles.sql gives every service role the superuser's password; so does an adopted one here.
  const adopted = settings.postgresPassword !== undefined ? pulumi.secret(settings.postgresPassword) : undefined;
  const dbPasswords = Object.fromEntries(
    SERVICE_DB_ROLES.map((role) => [
      role,
      adopted ?? password(`db-password-${role.replace(/_/g, "-")}`, ROLE_PASSWORD_LENGTH),
    ]),
  ) as Record<ServiceDbRole, pulumi.Output<string>>;
  const generated = Object.fromEntries(
    Object.entries(GENERATED)
      .filter(([, secret]) => secret.when?.(settings) ?? true)
      .map(([key, secret]) => {
        const configured = secret.fromConfig?.(settings);
        return [key, configured !== undefined ? pulumi.secret(configured) : password(secret.resource, secret.length)];
      }),
  );
  return { secrets: generated as SecretOutputs["secrets"], dbPasswords };
}
