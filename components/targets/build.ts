/**
 * What every target does with a service's builders: runs each on exactly the values it reads, resolved from the
 * keyring's outputs, the generated secrets and the database passwords.
 */
import * as pulumi from "@pulumi/pulumi";
import type { KeyringValues } from "../keyring/model";
import { allByName } from "../outputs";
import { serviceUrl } from "../services/index";
import type { Builder, StackSettings } from "../services/service";
import type { SecretOutputs } from "./secrets";

/** The keyring values the services consume (what `SigningKeyring` exposes, or any outputs of the same shape). */
export type StackKeyring = { [K in keyof KeyringValues]: pulumi.Input<KeyringValues[K]> };

/**
 * Runs a builder on the values it reads, resolved: only the keyring values, secrets and database passwords it
 * names, so a change to any other value (or one unknown during a preview) does not touch what it builds.
 */
export function build<T>(
  builder: Builder<T>,
  settings: StackSettings,
  keyring: StackKeyring,
  { secrets, dbPasswords }: SecretOutputs,
): pulumi.Output<T> {
  const pick = <V extends object>(from: V, names: readonly (keyof V)[]) =>
    allByName(Object.fromEntries(names.map((n) => [n, from[n]])));
  const read = allByName({
    keyring: pick(keyring, builder.keyring),
    secrets: pick(secrets, builder.secrets),
    dbPasswords: pick(dbPasswords, builder.dbRoles),
  });
  type Read = Pick<Parameters<Builder<T>["build"]>[0], "keyring" | "secrets" | "dbPasswords">;
  return read.apply((values) => builder.build({ settings, url: serviceUrl, ...(values as unknown as Read) }));
}

/**
 * Runs a builder that reads nothing but the settings, at once: its result is known before any resource exists (the
 * functions' files), so a target can plan resources from it. `undefined` for a builder that reads more.
 */
export function buildNow<T>(builder: Builder<T>, settings: StackSettings): T | undefined {
  if (builder.keyring.length > 0 || builder.secrets.length > 0 || builder.dbRoles.length > 0) return undefined;
  return builder.build({ settings, url: serviceUrl, keyring: {}, secrets: {}, dbPasswords: {} } as Parameters<
    Builder<T>["build"]
  >[0]);
}
