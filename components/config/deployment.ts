/**
 * Settings of the deployment as a whole, whatever runs in it: where it runs (`target`) and the name that tells
 * several stacks on one host apart.
 */
import { oneOf, text } from "../schema/fields";
import { defineSetting, type SettingsValues } from "../schema/setting";

/** The instance name of a stack that sets none: the names every stack had before the setting existed. */
export const DEFAULT_INSTANCE_NAME = "supabase";

/** Where a stack runs: one Docker host (the default, everything as before the setting existed) or a cluster. */
export const TARGETS = ["docker", "kubernetes"] as const;
export type Target = (typeof TARGETS)[number];

/** Every setting of the deployment. */
export const DEPLOYMENT_SETTINGS = [
  defineSetting({
    key: "target",
    schema: oneOf(TARGETS, "a target").default("docker"),
    doc:
      "where the stack runs: `docker`, the Docker host of the default `docker` provider (`docker:host`), or " +
      "`kubernetes`, the cluster of the default `kubernetes` provider (`kubernetes:kubeconfig`, " +
      "`kubernetes:context`); settings that mean something on one target only are refused on the other",
    details: "docs/kubernetes.md",
  }),
  defineSetting({
    key: "instanceName",
    schema: text({
      // Docker object names and (later) Kubernetes names: lower case, a letter first, short enough for both.
      pattern: /^[a-z]([a-z0-9-]{0,30}[a-z0-9])?$/,
      expected: "1-32 characters of a-z, 0-9 and -, starting with a letter and not ending with -",
    }).default(DEFAULT_INSTANCE_NAME),
    type: "name",
    doc:
      "the prefix of every Docker object's name (containers `<instanceName>-auth`, network, volumes), so several " +
      "stacks can share one Docker host; give each its own ports too. Changing it on a running stack recreates " +
      "every container on new, empty volumes (the old ones are kept)",
  }),
] as const;

/** The validated deployment settings. */
export type DeploymentConfig = SettingsValues<typeof DEPLOYMENT_SETTINGS>;
