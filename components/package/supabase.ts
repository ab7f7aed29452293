/**
 * `Supabase`: one self-hosted Supabase deployment as a single component, for programs in any Pulumi language. Its
 * arguments are the settings of the stack config, as values (typed from the settings registry); it validates them
 * with the same parser, then declares the signing keyring and the stack as its children and exposes the program's
 * outputs. Declares resources only.
 */
import * as pulumi from "@pulumi/pulumi";
import { parseConfig, settingsWarnings } from "../config/parse";
import { readFunctionsDir } from "../config/read";
import type { ProgramArgs, ProgramConfig } from "../config/settings";
import type { KeyResources } from "../keyring/resourceTokens";
import { PROJECT } from "../schema/project";
import { declareDeployment, type DeclaredDeployment } from "../program";
import { deploymentOutputs, type DeploymentOutputs } from "./outputs";

/** The component's resource type token. */
export const SUPABASE_TYPE = `${PROJECT}:index:Supabase`;

/**
 * Arguments of a {@link Supabase}: the keys of the stack config (see the README's configuration reference), each
 * as a value; `signingKeys` is required, every other key has the stack config's default. They are validated as a
 * stack config is, before any resource exists: a mistake throws a `ConfigError` naming each key and what is
 * allowed.
 * @example
 * ```ts
 * new Supabase("supabase", { signingKeys: [{ name: "k1", state: "current" }], instanceName: "staging" });
 * ```
 */
export type SupabaseArgs = Omit<ProgramArgs, "jwtSecret"> & {
  /**
   * The legacy HS256 secret: a value, or an output of another resource (a secret manager's, say), checked for its
   * length when it is known.
   * @default generated (64 random characters, kept in state)
   */
  jwtSecret?: pulumi.Input<string>;
};

/** Where the component is constructed, and how its arguments were given beyond their values. */
export interface SupabaseRuntime {
  /**
   * The arguments that arrived as Pulumi secrets. Settings the registry marks secret are secrets whatever arrives;
   * this matters for `extraEnv`, whose values are all treated as secrets when it arrives as one.
   * @default none
   */
  secretKeys?: ReadonlySet<string>;
  /**
   * How the keyring's own resources are kept: `dynamic` in a Node program, `plugin` when another program's engine
   * constructs the component through the package's plugin (see `KeyResources`).
   * @default "dynamic"
   */
  keyResources?: KeyResources;
}

/** How a component argument that should be a secret arrived in plain text, and what to do. */
const plainSecretArgument = (key: string, path: string): string =>
  `${path} arrived in plain text; pass it as a secret (a secret config value, or pulumi.secret) so that the ` +
  `program that declares the component keeps it encrypted too${path === key ? "" : ` (the whole ${key})`}`;

/** One self-hosted Supabase deployment: the signing keyring and the stack, with the program's outputs. */
export interface Supabase extends DeploymentOutputs {}
export class Supabase extends pulumi.ComponentResource {
  /** The validated settings (defaults applied). */
  readonly config: ProgramConfig;
  /** The children: the `SigningKeyring` and the stack of containers, both named like this component. */
  readonly deployment: DeclaredDeployment;

  constructor(name: string, args: SupabaseArgs, opts?: pulumi.ComponentResourceOptions, runtime: SupabaseRuntime = {}) {
    const { jwtSecret, ...settings } = args;
    const givenSecret = typeof jwtSecret === "string" ? jwtSecret : undefined;
    // Checked before super(), which registers the component: a mistake leaves no resource behind, not even this one.
    const config = parseConfig(
      { ...settings, jwtSecret: givenSecret },
      { secretKeys: runtime.secretKeys ?? new Set(), readFunctionsDir },
    );
    // Args stay out of super(): the SDK would store them, secrets included, in the component's state.
    super(SUPABASE_TYPE, name, {}, opts);
    this.config = config;
    // A TypeScript caller passes values: only a caller that says what arrived as a secret is told about plain ones.
    const warnAbout = runtime.secretKeys ?? new Set(Object.keys(args));
    for (const warning of settingsWarnings(config, warnAbout, plainSecretArgument)) pulumi.log.warn(warning, this);
    this.deployment = declareDeployment(name, config, {
      parent: this,
      jwtSecret: givenSecret === undefined ? jwtSecret : undefined,
      keyResources: runtime.keyResources,
    });
    const outputs = deploymentOutputs({ config: this.config, ...this.deployment });
    Object.assign(this, outputs);
    this.registerOutputs(outputs);
  }
}
