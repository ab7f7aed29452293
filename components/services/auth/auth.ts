/**
 * auth (GoTrue): the only service that signs. It gets the keyring as `GOTRUE_JWT_KEYS`, a JSON array in which
 * exactly one key, the current one, is private (supabase/auth `internal/conf/jwk.go` refuses none or several).
 */
import { configKey } from "../../schema/project";
import { postgresUrl } from "../db/db";
import { AUTH_GATEWAY_PATH } from "../kong/gateway";
import { AUTH_HEALTH_PATH, AUTH_PORT } from "./paths";
import { OAUTH_PROVIDERS, type AuthConfig, type ExternalProviderConfig, type SmtpConfig } from "./settings";
import type { Jwk } from "../../keyring/model";
import {
  after,
  ALL_CAPABILITIES,
  defineService,
  environment,
  hs256Secret,
  managed,
  managedGroup,
  SOURCES,
  type EnvMap,
  type StackSettings,
} from "../service";

/** The `GOTRUE_EXTERNAL_<NAME>_*` settings the program writes for a configured provider. */
const PROVIDER_FIELDS = ["ENABLED", "CLIENT_ID", "SECRET", "REDIRECT_URI", "URL"] as const;

/** The `iss` of auth's tokens and the issuer of its OAuth metadata: the URL clients reach the gateway at. */
export function authIssuer(settings: Pick<StackSettings, "apiExternalUrl">): string {
  return settings.apiExternalUrl;
}

/** Where auth's mails link to: the gateway's open verify route (auth's default `/verify` has no route). */
export const MAILER_URL_PATH = `${AUTH_GATEWAY_PATH}/verify`;

/**
 * auth's database connections per replica: at most `max` open, `idle` kept open between requests. Postgres's 100
 * connections are shared with every other service; two replicas and a rolling update's third stay within 30.
 */
export const AUTH_DB_POOL = { max: 10, idle: 5 } as const;

/** Where an OAuth provider sends users back unless `redirectUri` says otherwise: the gateway's callback route. */
export function defaultRedirectUri(apiExternalUrl: string): string {
  return `${apiExternalUrl}${AUTH_GATEWAY_PATH}/callback`;
}

/** `GOTRUE_SMTP_*` for an SMTP server; without one, auth sends no mail at all. */
function smtpEnv(smtp: SmtpConfig | undefined): EnvMap {
  if (!smtp) return {};
  return {
    GOTRUE_SMTP_HOST: smtp.host,
    GOTRUE_SMTP_PORT: String(smtp.port),
    ...(smtp.user !== undefined ? { GOTRUE_SMTP_USER: smtp.user } : {}),
    ...(smtp.pass !== undefined ? { GOTRUE_SMTP_PASS: smtp.pass } : {}),
    GOTRUE_SMTP_ADMIN_EMAIL: smtp.adminEmail,
    ...(smtp.senderName !== undefined ? { GOTRUE_SMTP_SENDER_NAME: smtp.senderName } : {}),
  };
}

/** `GOTRUE_EXTERNAL_<NAME>_*` for each configured provider, in name order (so equal config gives equal env). */
function providerEnv(providers: AuthConfig["externalProviders"], apiExternalUrl: string): EnvMap {
  const env: EnvMap = {};
  const configured = Object.entries(providers).filter(
    (entry): entry is [string, ExternalProviderConfig] => entry[1] !== undefined,
  );
  for (const [name, provider] of configured.sort(([a], [b]) => (a < b ? -1 : 1))) {
    const prefix = `GOTRUE_EXTERNAL_${name.toUpperCase()}`;
    env[`${prefix}_ENABLED`] = "true";
    env[`${prefix}_CLIENT_ID`] = provider.clientId;
    env[`${prefix}_SECRET`] = provider.secret;
    env[`${prefix}_REDIRECT_URI`] = provider.redirectUri ?? defaultRedirectUri(apiExternalUrl);
    if (provider.url !== undefined) env[`${prefix}_URL`] = provider.url;
  }
  return env;
}

/** The `GOTRUE_SMTP_*` names the program writes from `auth.smtp` (others, e.g. `GOTRUE_SMTP_MAX_FREQUENCY`, are free). */
const SMTP_NAMES = ["HOST", "PORT", "USER", "PASS", "ADMIN_EMAIL", "SENDER_NAME"].map(
  (field) => `GOTRUE_SMTP_${field}`,
);

/** The `GOTRUE_EXTERNAL_<NAME>_*` names of every provider auth knows (`GOTRUE_EXTERNAL_EMAIL_ENABLED` is free). */
const PROVIDER_NAMES = OAUTH_PROVIDERS.flatMap((name) =>
  PROVIDER_FIELDS.map((field) => `GOTRUE_EXTERNAL_${name.toUpperCase()}_${field}`),
);

/** `GOTRUE_JWT_KEYS`: the keyring's array, refused unless exactly one key can sign. */
function authKeysJson(authKeys: readonly Jwk[]): string {
  const signers = authKeys.filter((k) => Array.isArray(k.key_ops) && k.key_ops.includes("sign"));
  if (signers.length !== 1) throw new Error(`auth needs exactly one signing key, got ${signers.length}`);
  return JSON.stringify(authKeys);
}

/** What the keyring and `jwtExpiry` set: every `GOTRUE_JWT_*`. */
const JWT_SOURCE = "the signing keyring (and jwtExpiry)";

/**
 * Both valid-methods names are set: auth ≤ v2.186.0 reads `GOTRUE_JWT_VALIDMETHODS`, later versions
 * `GOTRUE_JWT_VALID_METHODS` (supabase/auth `internal/conf/configuration.go`), so an image override in either
 * direction keeps working.
 */
export const auth = defineService({
  role: "auth",
  image: "auth",
  port: AUTH_PORT,
  aliases: ["auth"],
  healthcheck: {
    tests: ["CMD", "wget", "--no-verbose", "--tries=1", "--spider", `http://localhost:${AUTH_PORT}${AUTH_HEALTH_PATH}`],
    interval: "5s",
    timeout: "5s",
    retries: 3,
  },
  dependsOn: after("db"),
  secretEnv: true,
  hs256Secrets: ["GOTRUE_JWT_SECRET"],
  // The image runs auth as the user `supabase` (supabase/auth `Dockerfile`, `USER supabase`).
  dropCapabilities: ALL_CAPABILITIES,
  // Sign-up, mail and provider settings are named as the official compose names them (supabase/supabase `docker/`).
  kubernetes: {
    replicas: {
      default: 2,
      why:
        "stateless: users, sessions and refresh tokens live in Postgres, so either pod serves every user, and a key " +
        "step rolls one pod while the other answers",
    },
    image: {
      // supabase/auth `Dockerfile`: `adduser -D -u 1000 supabase`, `USER supabase`; one Go binary that reads its
      // migrations from /usr/local/etc/auth/migrations and writes no file.
      runAsUser: 1000,
      readOnlyRootFilesystem: true,
      writableDirs: ["/tmp"],
      why: "supabase/auth `Dockerfile`: user supabase is uid 1000; the binary writes no file",
    },
    resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "256Mi" } },
  },
  env: environment({
    keyring: ["authKeys", "validMethods", "jwtSecret"],
    secrets: ["authJwtSecret"],
    dbRoles: ["supabase_auth_admin"],
    table: {
      GOTRUE_API_HOST: managed(SOURCES.network, "0.0.0.0"),
      GOTRUE_API_PORT: managed(SOURCES.port, String(AUTH_PORT)),
      API_EXTERNAL_URL: managed(configKey("apiExternalUrl"), ({ settings }) => settings.apiExternalUrl),
      GOTRUE_DB_DRIVER: managed(SOURCES.database, "postgres"),
      GOTRUE_DB_DATABASE_URL: managed(SOURCES.dbPassword, ({ dbPasswords }) =>
        postgresUrl("supabase_auth_admin", dbPasswords.supabase_auth_admin),
      ),
      // Unset, the idle pool is 0 and auth calls database/sql's SetMaxIdleConns(0), which keeps no connection: every
      // query dialed db afresh (a DNS lookup, a new backend, SCRAM on both sides), and under load GET /user took
      // seconds (supabase/auth internal/storage/dial.go, ApplyConfig). A kept pool, bounded per replica.
      GOTRUE_DB_MAX_POOL_SIZE: managed(SOURCES.database, String(AUTH_DB_POOL.max)),
      GOTRUE_DB_MAX_IDLE_POOL_SIZE: managed(SOURCES.database, String(AUTH_DB_POOL.idle)),
      GOTRUE_SITE_URL: managed(configKey("siteUrl"), ({ settings }) => settings.siteUrl),
      GOTRUE_URI_ALLOW_LIST: managed(configKey("auth.additionalRedirectUrls"), ({ settings }) =>
        settings.auth.additionalRedirectUrls.join(","),
      ),
      GOTRUE_DISABLE_SIGNUP: managed(configKey("auth.disableSignup"), ({ settings }) =>
        String(settings.auth.disableSignup),
      ),
      GOTRUE_EXTERNAL_EMAIL_ENABLED: "true",
      GOTRUE_EXTERNAL_ANONYMOUS_USERS_ENABLED: managed(configKey("auth.anonymousUsers"), ({ settings }) =>
        String(settings.auth.anonymousUsers),
      ),
      GOTRUE_MAILER_AUTOCONFIRM: managed(configKey("auth.mailerAutoconfirm"), ({ settings }) =>
        String(settings.auth.mailerAutoconfirm),
      ),
      GOTRUE_MAILER_URLPATHS_INVITE: MAILER_URL_PATH,
      GOTRUE_MAILER_URLPATHS_CONFIRMATION: MAILER_URL_PATH,
      GOTRUE_MAILER_URLPATHS_RECOVERY: MAILER_URL_PATH,
      GOTRUE_MAILER_URLPATHS_EMAIL_CHANGE: MAILER_URL_PATH,
      smtp: managedGroup(configKey("auth.smtp"), SMTP_NAMES, ({ settings }) => smtpEnv(settings.auth.smtp)),
      providers: managedGroup(configKey("auth.externalProviders"), PROVIDER_NAMES, ({ settings }) =>
        providerEnv(settings.auth.externalProviders, settings.apiExternalUrl),
      ),
      GOTRUE_JWT_ADMIN_ROLES: managed(JWT_SOURCE, "service_role"),
      GOTRUE_JWT_AUD: managed(JWT_SOURCE, "authenticated"),
      GOTRUE_JWT_DEFAULT_GROUP_NAME: managed(JWT_SOURCE, "authenticated"),
      GOTRUE_JWT_EXP: managed(JWT_SOURCE, ({ settings }) => String(settings.jwtExpiry)),
      GOTRUE_JWT_ISSUER: managed(JWT_SOURCE, ({ settings }) => authIssuer(settings)),
      // auth requires an HS256 secret even with asymmetric keys (supabase/auth `internal/conf/configuration.go`,
      // `required:"true"`); it verifies HS256 tokens without a kid with it only when HS256 is a valid method, which it
      // is with legacyHs256 alone.
      GOTRUE_JWT_SECRET: managed(JWT_SOURCE, ({ settings, keyring, secrets }) =>
        hs256Secret(settings, keyring.jwtSecret, secrets.authJwtSecret, "authJwtSecret"),
      ),
      GOTRUE_JWT_KEYS: managed(JWT_SOURCE, ({ keyring }) => authKeysJson(keyring.authKeys)),
      GOTRUE_JWT_VALID_METHODS: managed(JWT_SOURCE, ({ keyring }) => keyring.validMethods.join(",")),
      GOTRUE_JWT_VALIDMETHODS: managed(JWT_SOURCE, ({ keyring }) => keyring.validMethods.join(",")),
      reserved: managedGroup(JWT_SOURCE, ["GOTRUE_JWT_*"]),
      database: managedGroup(SOURCES.dbPassword, ["DATABASE_URL"]),
      port: managedGroup(SOURCES.port, ["PORT"]),
    },
  }),
});
