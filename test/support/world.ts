/**
 * The values a test hands the service builders: distinctive secrets (so a leak into a wrong place is easy to spot),
 * the generated secrets as the stack would hand them, and each database role's password.
 */
import type { ApiKeySet } from "../../components/keyring/apiKeys";
import type { ServiceDbRole } from "../../components/services/db/init";
import type { StackSecrets } from "../../components/services/service";

/** Distinctive secret values, so a leak into a wrong place is easy to spot. */
export const SECRETS = {
  jwtSecret: "JWTSECRET-0123456789abcdefghijklmnopqrstuvwxyz",
  postgres: "PGPASSWORDpostgres0123456789",
  authenticator: "PGPASSWORDauthenticator0123",
  auth: "PGPASSWORDauthadmin01234567",
  storage: "PGPASSWORDstorageadmin01234",
  functions: "PGPASSWORDfunctionsadmin0123",
  pgbouncer: "PGPASSWORDpgbouncer01234567",
  secretKeyBase: "SECRETKEYBASE".padEnd(64, "x"),
  dbEncKey: "DBENCKEY01234567",
  cryptoKey: "CRYPTOKEY".padEnd(32, "c"),
  dashboard: "DASHBOARDPASSWORD0123456789",
  publishableKey: "sb_publishable_PUBLISHABLEmarker0123456_abcdefgh",
  secretKey: "sb_secret_SECRETKEYmarker01234567890_abcdefgh",
  poolerSecretKeyBase: "POOLERSECRETKEYBASE".padEnd(64, "p"),
  vaultEncKey: "VAULTENCKEY".padEnd(32, "v"),
  s3AccessKeyId: "S3ACCESSKEYID".padEnd(32, "a"),
  s3AccessKeySecret: "S3ACCESSKEYSECRET".padEnd(64, "s"),
  backupS3SecretAccessKey: "BACKUPS3SECRETACCESSKEY".padEnd(40, "b"),
  authJwtSecret: "AUTHOWNHS256SECRET".padEnd(64, "1"),
  realtimeJwtSecret: "REALTIMEOWNHS256SECRET".padEnd(64, "2"),
  storageJwtSecret: "STORAGEOWNHS256SECRET".padEnd(64, "3"),
  studioJwtSecret: "STUDIOOWNHS256SECRET".padEnd(64, "4"),
  poolerJwtSecret: "POOLEROWNHS256SECRET".padEnd(64, "5"),
  backupReplication: "BACKUPREPLICATIONPASSWORD".padEnd(32, "b"),
};

/** The generated secrets, as the stack would hand them to the builders. */
export const STACK_SECRETS: StackSecrets = {
  postgresPassword: SECRETS.postgres,
  realtimeSecretKeyBase: SECRETS.secretKeyBase,
  realtimeDbEncKey: SECRETS.dbEncKey,
  metaCryptoKey: SECRETS.cryptoKey,
  dashboardPassword: SECRETS.dashboard,
  poolerSecretKeyBase: SECRETS.poolerSecretKeyBase,
  poolerVaultEncKey: SECRETS.vaultEncKey,
  s3ProtocolAccessKeyId: SECRETS.s3AccessKeyId,
  s3ProtocolAccessKeySecret: SECRETS.s3AccessKeySecret,
  authJwtSecret: SECRETS.authJwtSecret,
  realtimeJwtSecret: SECRETS.realtimeJwtSecret,
  storageJwtSecret: SECRETS.storageJwtSecret,
  studioJwtSecret: SECRETS.studioJwtSecret,
  poolerJwtSecret: SECRETS.poolerJwtSecret,
  backupReplicationPassword: SECRETS.backupReplication,
};

/** Each service role's own password. */
export const DB_PASSWORDS: Record<ServiceDbRole, string> = {
  authenticator: SECRETS.authenticator,
  supabase_auth_admin: SECRETS.auth,
  supabase_storage_admin: SECRETS.storage,
  supabase_functions_admin: SECRETS.functions,
  pgbouncer: SECRETS.pgbouncer,
};

/** The default API keys (one active key of each kind, named after its kind) with these values, as the keyring hands them on. */
export function apiKeySetOf(publishable: string, secret: string): ApiKeySet {
  return { publishable: [{ name: "publishable", value: publishable }], secret: [{ name: "secret", value: secret }] };
}

/** The keyring's API-key values for the default list, with the distinctive values above. */
export const OPAQUE_KEYS = {
  publishableKey: SECRETS.publishableKey,
  secretKey: SECRETS.secretKey,
  apiKeys: apiKeySetOf(SECRETS.publishableKey, SECRETS.secretKey),
};

/** `backup.s3` with a key pair, so the off-site copy of the backups (backup-s3) runs in a test's stack. */
export const BACKUP_S3 = {
  bucket: "supabase-backups",
  prefix: "test/supabase",
  endpoint: "https://s3.example.com",
  accessKeyId: "BACKUPACCESSKEYID",
  secretAccessKey: SECRETS.backupS3SecretAccessKey,
};
