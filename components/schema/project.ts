/**
 * The project's name and how a config key is written in messages. The ground floor: imports nothing of ours.
 */

/** The Pulumi project name, which is also the config namespace. */
export const PROJECT = "supabase-selfhosted";

/** A config key as users see it in messages and commands, e.g. `supabase-selfhosted:auth.smtp.pass`. */
export const configKey = (name: string): string => `${PROJECT}:${name}`;

/** An environment as a map; Docker wants it as a `K=V` list, Kubernetes as a list of `{name, value}`. */
export type EnvMap = Record<string, string>;
