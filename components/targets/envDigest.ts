/**
 * A digest of a container's environment, shipped to the container as a small file so that `pulumi preview`
 * shows the container's replacement whenever its environment will change.
 *
 * Why: in the Terraform docker provider the container's `env` is Optional, Computed and ForceNew
 * (kreuzwerker/terraform-provider-docker `internal/provider/resource_docker_container.go`), and the bridged
 * provider plans an environment that is not known yet during a preview (it holds a key being added in this very
 * update) as unchanged, then replaces the container during the update. `upload` is ForceNew and not Computed, so
 * an unknown upload is planned as a replacement: the digest carries the environment's unknown-ness into it. When
 * the environment is known it is as stable as the environment itself, so it adds no replacement of its own.
 *
 * On Kubernetes the same idea is a pod template annotation ({@link inputsDigest}): a change of a service's
 * environment or files changes its pod template, so its pods roll, and nothing else's do.
 * Pure: text in, text out.
 */
import { createHash, createHmac } from "node:crypto";

/** Where the digest is written in each container whose environment reads keyring values. */
export const ENV_DIGEST_FILE = "/etc/supabase-selfhosted/env.sha256";

/**
 * The digest file of an environment list (`K=V` entries in order). Secret whenever the environment is, since a
 * hash of a short secret (an SMTP password, say) could be guessed offline.
 */
export function envDigestFile(envs: readonly string[]): { file: string; content: string } {
  const hash = createHash("sha256");
  for (const entry of envs) hash.update(entry).update("\0");
  return { file: ENV_DIGEST_FILE, content: `${hash.digest("hex")}\n` };
}

/**
 * The digest of a service's whole input, its environment (`K=V` entries in order) and files, keyed with a secret the
 * stack generates: an HMAC, so it can stand in plain text where anyone who can read the workload sees it (a pod
 * template annotation) without letting them test guesses of a short secret in the environment offline.
 */
export function inputsDigest(
  key: string,
  envs: readonly string[],
  files: ReadonlyArray<{ file: string; content: string }>,
): string {
  const hmac = createHmac("sha256", key);
  for (const entry of envs) hmac.update(entry).update("\0");
  hmac.update("\0files\0");
  for (const { file, content } of files) hmac.update(file).update("\0").update(content).update("\0");
  return hmac.digest("hex");
}
