/**
 * auth (GoTrue): the only service that signs. It gets the keyring as `GOTRUE_JWT_KEYS`, a JSON array in which
 * exactly one key, the current one, is private (supabase/auth `internal/conf/jwk.go` refuses none or several).
 */
import { postgresUrl } from "./db/db";
import { after, defineService, reads } from "./service";

/** The port auth listens on inside the stack network. */
const AUTH_PORT = 9999;

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
    tests: ["CMD", "wget", "--no-verbose", "--tries=1", "--spider", `http://localhost:${AUTH_PORT}/health`],
    interval: "5s",
    timeout: "5s",
    retries: 3,
  },
  dependsOn: after("db"),
  secretEnv: true,
  env: reads({
    keyring: ["authKeys", "validMethods", "jwtSecret"],
    dbRoles: ["supabase_auth_admin"],
    build: ({ settings, keyring, dbPasswords }) => {
      const signers = keyring.authKeys.filter((k) => Array.isArray(k.key_ops) && k.key_ops.includes("sign"));
      if (signers.length !== 1) throw new Error(`auth needs exactly one signing key, got ${signers.length}`);
      const methods = keyring.validMethods.join(",");
      return {
        GOTRUE_API_HOST: "0.0.0.0",
        GOTRUE_API_PORT: String(AUTH_PORT),
        API_EXTERNAL_URL: settings.apiExternalUrl,
        GOTRUE_DB_DRIVER: "postgres",
        GOTRUE_DB_DATABASE_URL: postgresUrl("supabase_auth_admin", dbPasswords.supabase_auth_admin),
        GOTRUE_SITE_URL: settings.siteUrl,
        GOTRUE_DISABLE_SIGNUP: "false",
        GOTRUE_EXTERNAL_EMAIL_ENABLED: "true",
        GOTRUE_JWT_ADMIN_ROLES: "service_role",
        GOTRUE_JWT_AUD: "authenticated",
        GOTRUE_JWT_DEFAULT_GROUP_NAME: "authenticated",
        GOTRUE_JWT_EXP: String(settings.jwtExpiry),
        GOTRUE_JWT_ISSUER: settings.apiExternalUrl,
        // auth requires the HS256 secret even with asymmetric keys.
        GOTRUE_JWT_SECRET: keyring.jwtSecret,
        GOTRUE_JWT_KEYS: JSON.stringify(keyring.authKeys),
        GOTRUE_JWT_VALID_METHODS: methods,
        GOTRUE_JWT_VALIDMETHODS: methods,
      };
    },
  }),
});
