/**
 * The stack configuration's schema: the namespace, every key the program reads, the defaults, and the validated
 * shapes the components receive. Pure: no Pulumi, no I/O.
 */
import type { Algorithm } from "../keyring/algorithms";
import type { KeyState } from "../keyring/model";
import type { ImageKey } from "../services/images";

/** The Pulumi project name, which is also the config namespace. */
export const PROJECT = "supabase-selfhosted";

/** Key names: they become resource names, so keep them short and URN-safe. */
export const KEY_NAME_PATTERN = /^[a-z0-9-]{1,32}$/;

/** One validated `signingKeys` entry. */
export interface SigningKeyConfig {
  /** Identity of the key in state; renaming means a new key. */
  name: string;
  state: KeyState;
  algorithm: Algorithm;
  /** Imported private JWK, as canonical JSON text (secret). */
  privateJwk?: string;
  /** The imported key's `kid`, when it has one (kept as is). */
  importedKid?: string;
}

/** Everything the keyring needs. */
export interface KeyringConfig {
  signingKeys: SigningKeyConfig[];
  legacyHs256: boolean;
  /** Imported legacy HS256 secret; generated when absent. */
  jwtSecret?: string;
  /**
   * The HS256 deployment's own anon and service_role keys (its `ANON_KEY`/`SERVICE_ROLE_KEY`), imported so the
   * gateway keeps accepting them; only with `legacyHs256` and the `jwtSecret` that signed them.
   */
  legacyApiKeys?: { anon?: string; serviceRole?: string };
  jwtExpiry: number;
  apiKeyLifetimeDays: number;
  /** Skip the rotation guard rails (emergencies only). */
  allowUnsafeRotation: boolean;
  /** How long verifiers may cache the JWKS; a standby key must be published at least this long. */
  jwksCacheSeconds: number;
}

/** Everything the containers need besides the keyring. */
export interface ServicesConfig {
  siteUrl: string;
  apiExternalUrl: string;
  gatewayHttpPort: number;
  /** Image references, defaults merged with the `images` overrides. */
  images: Record<ImageKey, string>;
  /** Run studio and meta (the dashboard). */
  studio: boolean;
  /** Basic-auth user for the dashboard route. */
  dashboardUsername: string;
}

/** The whole validated stack configuration. */
export interface ProgramConfig extends KeyringConfig, ServicesConfig {}

/** Raw config values as Pulumi hands them to a program: text, keyed without the namespace. */
export type RawConfig = Record<string, string | undefined>;

/** Thrown for invalid configuration; `problems` lists each offending key with what is allowed. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `Invalid stack configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
        problems.map((p) => `  - ${p}`).join("\n"),
    );
    this.name = "ConfigError";
  }
}

/** Every config key this program reads; anything else in the namespace is a typo. */
export const CONFIG_KEYS = [
  "signingKeys",
  "legacyHs256",
  "jwtSecret",
  "legacyAnonKey",
  "legacyServiceRoleKey",
  "jwtExpiry",
  "apiKeyLifetimeDays",
  "allowUnsafeRotation",
  "jwksCacheSeconds",
  "siteUrl",
  "apiExternalUrl",
  "gatewayHttpPort",
  "images",
  "studio",
  "dashboardUsername",
] as const;

/** The default of every optional setting; the README's configuration reference lists the same values. */
export const CONFIG_DEFAULTS = {
  jwtExpiry: 3600,
  apiKeyLifetimeDays: 1825,
  jwksCacheSeconds: 1200,
  siteUrl: "http://localhost:3000",
  apiExternalUrl: "http://localhost:8000",
  gatewayHttpPort: 8000,
  dashboardUsername: "supabase",
} as const;
