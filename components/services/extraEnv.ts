/**
 * `extraEnv`: more environment for a service, merged last. The shape is checked here; which services exist and which
 * names the program manages is checked by `extraEnvRule` (`index.ts`), which knows every service module.
 */
import * as z from "zod";
import { map, shown } from "../schema/fields";
import type { EnvMap } from "../schema/project";
import { defineSetting } from "../schema/setting";

/** An environment variable name: letters, digits and `_`, not starting with a digit. */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** One value: text, a number or a flag, which reach the container as text. */
const envValue = z
  .union([z.string(), z.number(), z.boolean()], {
    // Only the kind of what was given: any extraEnv value may be a secret.
    error: (issue) => `must be a text, number or boolean, got ${shown(issue.input, true)}`,
  })
  .transform(String)
  .refine((value) => !value.includes("\u0000"), { error: () => "must not contain a NUL character" });

/** One service's variables. */
const serviceEnv = map(envValue, "a map of environment variable to value").superRefine((env, ctx) => {
  for (const name of Object.keys(env).filter((n) => !ENV_NAME.test(n))) {
    ctx.addIssue({
      code: "custom",
      path: [name],
      message: "is not an environment variable name (letters, digits and _, not starting with a digit)",
    });
  }
});

/** The `extraEnv` setting. */
export const EXTRA_ENV_SETTING = defineSetting({
  key: "extraEnv",
  schema: map(serviceEnv, "a map of service to {NAME: value}, e.g. {auth: {GOTRUE_SMTP_MAX_FREQUENCY: 1s}}")
    .default({})
    .transform((value) => value as Record<string, EnvMap>),
  type: "map service → {NAME: value}",
  default: "none",
  doc:
    "more environment for a service, merged last; names the program manages (keys, database URLs and passwords, " +
    "kong's config, what has its own key) are refused",
  details: "docs/configuration.md#extraenv",
});
