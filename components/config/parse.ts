/**
 * Stack configuration: parsing against the settings registry (`settings.ts`), defaults and validation. Pure: no
 * Pulumi, no I/O (reading `functions.dir` is handed in).
 *
 * Every problem is reported with the full config key (`supabase-selfhosted:signingKeys[1].state`) and what
 * is allowed, and all problems are reported at once, so one `pulumi preview` shows everything to fix.
 */
import { configKey } from "../schema/project";
import {
  applyRules,
  ConfigError,
  parseSettings,
  Problems,
  secretValues,
  type RawConfig,
  type SettingsInput,
  type SettingsRule,
} from "../schema/setting";
import { functionsFilesRule, type FunctionsDirListing } from "../services/functions/settings";
import { databasePublishWarnings } from "../services/db/settings";
import { runningServices } from "../services/index";
import { poolerWarnings } from "../services/pooler/settings";
import { realtimeAlgorithmWarnings } from "../services/realtime/realtime";
import { tlsWarnings } from "../services/tls/settings";
import { CONFIG_KEYS, RULES, SETTINGS, type ProgramConfig } from "./settings";
import { isGiven, kubernetesWarnings, targetProblems } from "./target";

/**
 * The settings whose every value is treated as a secret when the setting arrives as one (a stack config key set with
 * `--secret`, a component argument passed as a secret); other settings keep as secrets what the registry marks so.
 */
export const SECRET_WHEN_GIVEN_AS_ONE: readonly string[] = ["extraEnv"];

/** What {@link parseConfig} may know besides the values themselves. */
export interface ParseOptions {
  /** The top-level keys (without the namespace) whose values arrived as secrets (none when not given). */
  secretKeys?: ReadonlySet<string>;
  /**
   * Lists the files of `functions.dir`, or of the program's own main entry when `dir` is `undefined` (`read.ts`);
   * without it, `functions.dir` is checked for its form only.
   */
  readFunctionsDir?(dir: string | undefined): FunctionsDirListing;
}

/**
 * Turns raw stack config into a validated {@link ProgramConfig} with defaults applied.
 * @param raw config values keyed without the `supabase-selfhosted:` namespace: as text (what Pulumi hands a
 *   program), or as values (what another program passes, e.g. `{signingKeys: [{name: "k1", state: "current"}]}`).
 * @param options what else the parse may know (which keys are secrets) and do (read `functions.dir`).
 * @throws ConfigError listing every invalid key with what is allowed.
 */
export function parseConfig(raw: RawConfig | SettingsInput, options: ParseOptions = {}): ProgramConfig {
  const problems = new Problems();
  for (const name of Object.keys(raw)) {
    if (raw[name] !== undefined && !CONFIG_KEYS.includes(name)) {
      problems.add(name, `is not a known setting; known: ${CONFIG_KEYS.join(", ")}`);
    }
  }
  const parsed = {
    ...parseSettings(SETTINGS, raw, problems),
    extraEnvIsSecret: options.secretKeys?.has(SECRET_WHEN_GIVEN_AS_ONE[0]) ?? false,
  } as Partial<ProgramConfig>;
  const rules: SettingsRule<ProgramConfig>[] = [...RULES] as SettingsRule<ProgramConfig>[];
  if (options.readFunctionsDir) {
    rules.push(functionsFilesRule(options.readFunctionsDir) as unknown as SettingsRule<ProgramConfig>);
  }
  const config = applyRules(rules, parsed, problems);
  if (config.target !== undefined && config.kubernetes && config.pooler && config.functions) {
    targetProblems(config as ProgramConfig, raw, problems);
  }
  // The backup service runs on the Docker target only for now (it has no Kubernetes facts): off by default on
  // Kubernetes, and refused there when asked for.
  if (config.target === "kubernetes" && config.backup) {
    if (isGiven(raw, "backup.enabled") && config.backup.enabled) {
      problems.add("backup.enabled", "backups run on the Docker target only for now (target is kubernetes)");
    }
    if (config.backup.s3 !== undefined) {
      problems.add("backup.s3", "backups run on the Docker target only for now (target is kubernetes)");
    }
    config.backup = { ...config.backup, enabled: false };
  }
  if (problems.list.length > 0) throw new ConfigError(problems.list);
  return config as ProgramConfig;
}

/** An environment name that usually carries a secret, e.g. `GOTRUE_HOOK_SEND_EMAIL_SECRETS`, `SMS_TWILIO_AUTH_TOKEN`. */
const SECRET_LOOKING_NAME = /(^|_)(SECRETS?|PASSWORD|PASSWD|PASS|TOKENS?|KEYS?|PRIVATE|CREDENTIALS?)(_|$)/;

/** Every value of the config that is a secret, with the top-level key Pulumi marks secret when it was set so. */
function secretsIn(config: ProgramConfig): Array<{ key: string; path: string }> {
  const found = secretValues(SETTINGS, config as unknown as Record<string, unknown>);
  for (const [role, env] of Object.entries(config.extraEnv)) {
    for (const name of Object.keys(env).filter((n) => SECRET_LOOKING_NAME.test(n))) {
      found.push({ key: "extraEnv", path: `extraEnv.${role}.${name}` });
    }
  }
  return found;
}

/** What a stack config's secret given in plain text says: where it sits, and the command that encrypts it. */
function plainInStackFile(key: string, path: string): string {
  return path === key
    ? `${configKey(path)} is stored in plain text in the stack file; encrypt it with ` +
        `\`pulumi config set --secret ${path} <value>\``
    : `${configKey(path)} is stored in plain text in the stack file; encrypt it with ` +
        `\`pulumi config set --secret --path '${path}' <value>\``;
}

/**
 * Warnings about a valid config, for the program to log at every run: a secret given in plain text (it sits
 * unencrypted in the stack file, and reaches the engine as plain text), and `extraEnv` for a service that does not
 * run with these settings.
 * @param secretKeys the config keys (without the namespace) the engine passed as secrets.
 * @param plainSecret the warning about a secret given in plain text, by top-level key and path (a component's
 *   arguments are not a stack file: it says so in its own words).
 */
export function settingsWarnings(
  config: ProgramConfig,
  secretKeys: ReadonlySet<string>,
  plainSecret: (key: string, path: string) => string = plainInStackFile,
): string[] {
  const warnings = secretsIn(config)
    .filter(({ key }) => !secretKeys.has(key))
    .map(({ key, path }) => plainSecret(key, path));
  warnings.push(
    ...(config.target === "kubernetes"
      ? kubernetesWarnings(config)
      : [...databasePublishWarnings(config.database), ...poolerWarnings(config.pooler), ...tlsWarnings(config)]),
  );
  const running = runningServices(config).map((service) => service.role as string);
  if (running.includes("realtime")) {
    const current = config.signingKeys.find((key) => key.state === "current");
    warnings.push(...realtimeAlgorithmWarnings(config.images.realtime, current?.algorithm));
  }
  for (const role of Object.keys(config.extraEnv).filter((r) => !running.includes(r))) {
    warnings.push(`${configKey(`extraEnv.${role}`)}: ${role} does not run with these settings, so this has no effect.`);
  }
  return warnings;
}
