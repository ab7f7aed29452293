/** Test helper: runs a service module's builder the way the stack does. */
import type { KeyringValues } from "../../components/keyring/model";
import type { ServiceDbRole } from "../../components/services/db/init";
import { serviceUrl } from "../../components/services/index";
import type { Builder, StackSecrets, StackSettings } from "../../components/services/service";

/** Everything a builder could read; it is handed only the values its lists name. */
export interface BuilderWorld {
  settings: StackSettings;
  keyring: KeyringValues;
  secrets: StackSecrets;
  dbPasswords: Record<ServiceDbRole, string>;
}

/** Runs a builder as the stack does: given only the keyring values, secrets and db passwords it names. */
export function runBuilder<T>(builder: Builder<T>, world: BuilderWorld): T {
  const pick = <V extends object>(from: V, names: readonly (keyof V)[]) =>
    Object.fromEntries(names.map((n) => [n, from[n]])) as never;
  return builder.build({
    settings: world.settings,
    keyring: pick(world.keyring, builder.keyring),
    secrets: pick(world.secrets, builder.secrets),
    dbPasswords: pick(world.dbPasswords, builder.dbRoles),
    url: serviceUrl,
  });
}
