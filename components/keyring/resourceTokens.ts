/**
 * The module and type the keyring's dynamic resources register under (`pulumi-nodejs:dynamic/<module>:<type>`), and
 * the token the package's plugin serves the same resource under for programs in other languages
 * ({@link pluginToken}). Pure and free of the SDK, so the policy pack and the mock engines can match resources by them.
 */
import { PROJECT } from "../schema/project";

/** One `SigningKey` per keyring entry. */
export const SIGNING_KEY_TOKEN = { module: PROJECT, type: "SigningKey" } as const;

/** The rotation guard. */
export const ROTATION_GUARD_TOKEN = { module: PROJECT, type: "RotationGuard" } as const;

/**
 * How the keyring's resources are kept: `dynamic` (Pulumi dynamic resources, run by the program's own Node
 * modules) or `plugin` (custom resources of this package, served by its plugin). A program in another language has
 * no Node modules for a dynamic provider to load (pulumi/pulumi#5455), so the `Supabase` component, when another
 * program's engine constructs it, keeps them as `plugin`.
 */
export type KeyResources = "dynamic" | "plugin";

/** The token of a keyring resource as the package's plugin serves it, e.g. `supabase-selfhosted:index:SigningKey`. */
export const pluginToken = (token: { type: string }): string => `${PROJECT}:index:${token.type}`;
