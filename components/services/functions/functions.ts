/**
 * functions (supabase/edge-runtime), optional (`functions.enabled`). The files under `functions.dir` on the deploying
 * machine, or the program's own main entry (`default/`), are shipped with `uploads`, so a remote Docker host needs
 * nothing on its disk and a changed file recreates this container only.
 *
 * The main entry verifies calls with `SUPABASE_JWKS`, the keyring's verifier JWKS (asymmetric keys, plus the HS256
 * secret as an `oct` key in legacy mode), never with `JWT_SECRET` alone (`default/main/verify.ts`). Upstream's main
 * (supabase/supabase `docker/volumes/functions/main/index.ts`) verifies HS256 tokens with `JWT_SECRET` and ES256/RS256
 * ones with `SUPABASE_JWKS`, and refuses every other algorithm, EdDSA included.
 */
import * as path from "node:path";
import { FUNCTIONS_DEFAULT_KEY, type NamedApiKey } from "../../keyring/apiKeys";
import { configKey } from "../../schema/project";
import type { FunctionsConfig } from "./settings";
import { postgresUrl } from "../db/db";
import { after, defineService, environment, managed, reads, SOURCES, type UploadedFile } from "../service";

const FUNCTIONS_PORT = 9000;

/** Where the functions live in the container: one directory per function, `main` being the runtime's entry. */
export const FUNCTIONS_ROOT = "/home/deno/functions";

/** The functions the program ships when `functions.dir` is not set: its main entry only. */
export const DEFAULT_FUNCTIONS_DIR = path.join(__dirname, "default");

/** The file the edge runtime starts as its main service; a `functions.dir` without it is refused. */
export const MAIN_ENTRY = "main/index.ts";

/**
 * Milliseconds of inactivity after which the runtime ends a user worker's request; the gateway's read timeout on the
 * functions route leaves it 10 s more (as upstream's kong.yml does).
 */
export const WORKER_IDLE_TIMEOUT_MS = 150_000;

/**
 * `SUPABASE_PUBLISHABLE_KEYS`/`SUPABASE_SECRET_KEYS`: a JSON object of key name → key, which function code reads
 * with `JSON.parse` (the edge runtime itself does not read them; its main entry hands every variable to the
 * workers, supabase/supabase `docker/volumes/functions/main/index.ts`). The primary key is under `default`, the
 * one entry upstream's compose writes (supabase/supabase `docker/docker-compose.yml`) and function code reads; every
 * other active key under its own name. No active key of the kind: `{}`.
 * @param keys the active keys of one kind, the primary first (`ApiKeySet`).
 */
export function functionsKeyMap(keys: readonly NamedApiKey[]): string {
  const [primary, ...others] = keys;
  const entries = primary ? [[FUNCTIONS_DEFAULT_KEY, primary.value], ...others.map((k) => [k.name, k.value])] : [];
  return JSON.stringify(Object.fromEntries(entries));
}

/** The uploads for the functions' files (read into the config by `config/read.ts`). */
export function functionUploads(config: FunctionsConfig): UploadedFile[] {
  if (!config.files) throw new Error("the functions' files were not read (functions.dir)");
  return config.files.map((f) => ({ file: `${FUNCTIONS_ROOT}/${f.path}`, content: f.content }));
}

export const functions = defineService({
  role: "functions",
  image: "functions",
  port: FUNCTIONS_PORT,
  aliases: ["functions"],
  // The image has neither curl nor wget; upstream probes the port.
  healthcheck: {
    tests: ["CMD-SHELL", `timeout 1 bash -c '</dev/tcp/127.0.0.1/${FUNCTIONS_PORT}'`],
    interval: "5s",
    timeout: "5s",
    retries: 3,
  },
  dependsOn: after("db"),
  runs: (settings) => settings.functions.enabled,
  command: [
    "start",
    "--user-worker-request-idle-timeout",
    String(WORKER_IDLE_TIMEOUT_MS),
    "--main-service",
    `${FUNCTIONS_ROOT}/main`,
  ],
  // Deno's module cache: a recreated container (every standby and revoke step) does not download imports again.
  volumes: [{ volume: "functions-cache", containerPath: "/root/.cache/deno" }],
  secretEnv: true,
  kubernetes: {
    replicas: {
      default: 1,
      why: "its Deno cache is a ReadWriteOnce volume, so every pod would share one node",
    },
    image: {
      // supabase/edge-runtime `Dockerfile` declares no USER; the runtime caches modules under /root/.cache/deno.
      readOnlyRootFilesystem: false,
      why: "supabase/edge-runtime `Dockerfile` has no USER and caches under /root: it runs as root",
    },
    resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "1Gi" } },
  },
  env: environment({
    keyring: ["verifierJwks", "jwtSecret", "longestTrustedAnonKey", "longestTrustedServiceRoleKey", "apiKeys"],
    secrets: ["postgresPassword"],
    table: {
      // Upstream's name, for user functions that verify HS256 tokens themselves; the main entry does not read it (only
      // the JWKS's oct key, in legacy mode, verifies HS256). Without legacyHs256 no secret is given: every worker
      // sees this environment, and there is no HS256 token left to verify.
      JWT_SECRET: managed(SOURCES.jwtSecret, ({ settings, keyring }) =>
        settings.legacyHs256 ? keyring.jwtSecret : undefined,
      ),
      SUPABASE_JWKS: managed(SOURCES.keyring, ({ keyring }) => JSON.stringify(keyring.verifierJwks)),
      SUPABASE_URL: managed(SOURCES.network, ({ url }) => url("kong")),
      SUPABASE_PUBLIC_URL: managed(configKey("apiExternalUrl"), ({ settings }) => settings.apiExternalUrl),
      // The longest-trusted key's role JWTs: valid before and after a promotion, so a promotion leaves functions alone.
      SUPABASE_ANON_KEY: managed(SOURCES.keyring, ({ keyring }) => keyring.longestTrustedAnonKey),
      SUPABASE_SERVICE_ROLE_KEY: managed(SOURCES.keyring, ({ keyring }) => keyring.longestTrustedServiceRoleKey),
      SUPABASE_PUBLISHABLE_KEYS: managed(SOURCES.keyring, ({ keyring }) =>
        functionsKeyMap(keyring.apiKeys.publishable),
      ),
      SUPABASE_SECRET_KEYS: managed(SOURCES.keyring, ({ keyring }) => functionsKeyMap(keyring.apiKeys.secret)),
      SUPABASE_DB_URL: managed(SOURCES.superuserPassword, ({ secrets }) =>
        postgresUrl("postgres", secrets.postgresPassword, "postgresql"),
      ),
      VERIFY_JWT: managed(configKey("functions.verifyJwt"), ({ settings }) => String(settings.functions.verifyJwt)),
    },
  }),
  files: reads({ build: ({ settings }) => functionUploads(settings.functions) }),
});
