/**
 * The component provider the package's plugin serves: the schema (from the settings registry) and the construction
 * of a `Supabase` from another program's inputs, in whatever language that program is written.
 *
 * An input arrives from the Node provider host as a value, or as an output when it is a secret or depends on
 * resources (pulumi/pulumi `sdk/nodejs/provider/server.ts`, `deserializeInputs`). The settings decide which
 * resources exist and are validated before any is declared, so each input is awaited first; one that is not known
 * yet (an output of a resource the same update creates, during a preview) is refused with its key, except
 * `jwtSecret`, which the keyring takes as an output.
 */
import * as pulumi from "@pulumi/pulumi";
import type { ConstructResult, Provider } from "@pulumi/pulumi/provider";
import { SECRET_WHEN_GIVEN_AS_ONE } from "../config/parse";
import { SETTINGS } from "../config/settings";
import { inputJsonSchema, secretPatterns } from "../schema/introspect";
import { ConfigError, Problems } from "../schema/setting";
import { keyResourceCalls } from "./keyResources";
import { OUTPUTS } from "./outputs";
import { packageSchema } from "./packageSchema";
import { Supabase, SUPABASE_TYPE, type SupabaseArgs } from "./supabase";

/** An input once awaited: its value (with unknowns inside, if any), whether all of it is known, whether secret. */
export interface AwaitedInput {
  value: unknown;
  known: boolean;
  secret: boolean;
}

/** The parts of an output the SDK keeps internal (pulumi/pulumi `sdk/nodejs/output.ts`, `OutputImpl`). */
interface OutputInternals {
  isKnown: Promise<boolean>;
  promise(withUnknowns?: boolean): Promise<unknown>;
}

/** Awaits one input: a value as it is, an output (or a value holding outputs) through the SDK's lifting. */
export async function awaitInput(input: unknown): Promise<AwaitedInput> {
  const output = pulumi.output(input) as unknown as pulumi.Output<unknown> & OutputInternals;
  const [known, secret, value] = await Promise.all([output.isKnown, pulumi.isSecret(output), output.promise(true)]);
  return { value, known: known && !pulumi.containsUnknowns(value), secret };
}

/**
 * The settings that keep a secret given to them: those with a secret at or under them (`postgresPassword`, `auth`
 * for `auth.smtp.pass`), and those whose values all become secrets when the setting is given as one.
 */
const SETTINGS_WITH_SECRETS: ReadonlySet<string> = new Set([
  ...SETTINGS.filter((setting) => secretPatterns(inputJsonSchema(setting.schema)).length > 0).map((s) => s.key),
  ...SECRET_WHEN_GIVEN_AS_ONE,
]);

/** The component's arguments from awaited inputs, and which of them arrived as secrets. */
export interface ResolvedArgs {
  args: SupabaseArgs;
  secretKeys: Set<string>;
  /** What the caller should hear about (a secret the settings do not keep as one). */
  warnings: string[];
}

/**
 * Awaits every input and gives the component's arguments.
 * @throws ConfigError naming each input that is not known yet.
 */
export async function resolveArgs(inputs: pulumi.Inputs): Promise<ResolvedArgs> {
  const problems = new Problems();
  const args: Record<string, unknown> = {};
  const secretKeys = new Set<string>();
  const warnings: string[] = [];
  for (const [key, input] of Object.entries(inputs)) {
    const awaited = await awaitInput(input);
    if (awaited.secret) secretKeys.add(key);
    if (awaited.known) {
      args[key] = awaited.value;
      if (awaited.secret && !SETTINGS_WITH_SECRETS.has(key)) {
        warnings.push(`${key} arrived as a secret, but the settings do not keep it as one: it is used in plain text`);
      }
    } else if (key === "jwtSecret") {
      args[key] = input;
    } else {
      problems.add(
        key,
        "is not known yet (an output of a resource this update creates): the settings decide which resources " +
          "exist and are checked before any is declared, so give a value known before the update (a literal or a " +
          "config value)",
      );
    }
  }
  if (problems.list.length > 0) throw new ConfigError(problems.list);
  return { args: args as SupabaseArgs, secretKeys, warnings };
}

/** The package schema this provider serves, for a package version. */
export function supabasePackageSchema(version: string): Record<string, unknown> {
  return packageSchema(SETTINGS, {
    version,
    description: "Self-hosted Supabase with asymmetric JWT signing keys (ES256, RS256, EdDSA) and key rotation",
    component: SUPABASE_TYPE.split(":")[2],
    componentDescription:
      "One self-hosted Supabase deployment: the signing keyring and the services on the target the settings " +
      "choose. The inputs are the settings of the stack config (the README's configuration reference), checked " +
      "before any resource exists.",
    outputs: OUTPUTS,
  });
}

/** The provider of the `Supabase` component. */
export class SupabaseProvider implements Provider {
  /** @param version the package's version (package.json), which the schema carries too */
  constructor(readonly version: string) {}

  async getSchema(): Promise<string> {
    return JSON.stringify(supabasePackageSchema(this.version));
  }

  // The keyring's resources, which the component declares as this package's (see keyResources.ts).
  readonly check = keyResourceCalls.check;
  readonly diff = keyResourceCalls.diff;
  readonly create = keyResourceCalls.create;
  readonly update = keyResourceCalls.update;
  readonly delete = keyResourceCalls.delete;

  async construct(
    name: string,
    type: string,
    inputs: pulumi.Inputs,
    options: pulumi.ComponentResourceOptions,
  ): Promise<ConstructResult> {
    if (type !== SUPABASE_TYPE) throw new Error(`unknown resource type ${type}; this package has ${SUPABASE_TYPE}`);
    const { args, secretKeys, warnings } = await resolveArgs(inputs);
    const component = new Supabase(name, args, options, { secretKeys, keyResources: "plugin" });
    for (const warning of warnings) pulumi.log.warn(warning, component);
    const state = Object.fromEntries(
      Object.keys(OUTPUTS)
        .map((key) => [key, component[key as keyof typeof OUTPUTS]])
        .filter(([, value]) => value !== undefined),
    );
    return { urn: component.urn, state };
  }
}
