/**
 * Pinned container images, and the `images` setting that overrides one per stack.
 *
 * Every tag was read from supabase/supabase at commit 1f37f2a9d82df788cb026dd9d25c4125e26da715 (the newest copy
 * of the self-hosted docker folder found): `docker/docker-compose.yml` for all services but kong, and
 * `docker/docker-compose.kong.yml` (the Kong override of that release, which replaced the Envoy default) for kong.
 */
import * as z from "zod";
import { must, object, shown } from "../schema/fields";
import { defineSetting } from "../schema/setting";

export const IMAGE_DEFAULTS = {
  db: "supabase/postgres:17.6.1.136",
  auth: "supabase/gotrue:v2.196.0",
  rest: "postgrest/postgrest:v14.17",
  realtime: "supabase/realtime:v2.134.10",
  storage: "supabase/storage-api:v1.74.0",
  kong: "kong/kong:3.9.3",
  studio: "supabase/studio:2026.09.07-sha-7996410",
  meta: "supabase/postgres-meta:v0.99.0",
  imgproxy: "darthsim/imgproxy:v3.31.4",
  pooler: "supabase/supavisor:2.9.12",
  functions: "supabase/edge-runtime:v1.76.2",
  // The TLS proxy: upstream's docker/docker-compose.caddy.yml runs `caddy:2` (unpinned); this pins a 2.x release.
  tls: "caddy:2.10.2",
  // The off-site copy of the backups (backup.s3): rclone's official image (rclone/rclone, Alpine with busybox).
  backupS3: "rclone/rclone:1.76.0",
} as const;

/** The services whose image can be overridden. */
export type ImageKey = keyof typeof IMAGE_DEFAULTS;

/** Every image key, in the order of {@link IMAGE_DEFAULTS}. */
export const IMAGE_KEYS = Object.keys(IMAGE_DEFAULTS) as [ImageKey, ...ImageKey[]];

/** Splits an image reference into repository, tag and digest; undefined when it is not a valid reference. */
export function parseImageReference(ref: string): { repository: string; tag?: string; digest?: string } | undefined {
  const [nameAndTag, digest, extra] = ref.split("@");
  if (extra !== undefined || (digest !== undefined && !/^sha256:[a-f0-9]{64}$/.test(digest))) return undefined;
  // A registry host may carry a port (registry:5000/img), so the tag is a colon after the last slash.
  const slash = nameAndTag.lastIndexOf("/");
  const colon = nameAndTag.lastIndexOf(":");
  const repository = colon > slash ? nameAndTag.slice(0, colon) : nameAndTag;
  const tag = colon > slash ? nameAndTag.slice(colon + 1) : undefined;
  if (!/^[a-z0-9]+([._:\/-][a-z0-9]+)*$/.test(repository)) return undefined;
  if (tag !== undefined && !/^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/.test(tag)) return undefined;
  return { repository, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

/** True when an image reference names one immutable version: a digest, or a tag other than `latest`. */
export function isPinnedImage(ref: string): boolean {
  const parsed = parseImageReference(ref);
  return parsed !== undefined && (parsed.digest !== undefined || (parsed.tag !== undefined && parsed.tag !== "latest"));
}

/** One image reference, pinned to a tag or digest; `example` is the service's default. */
const pinnedImage = (example: string) =>
  z.string(must(`an image reference such as ${example}`)).superRefine((ref, ctx) => {
    if (parseImageReference(ref) === undefined) {
      ctx.addIssue({ code: "custom", message: `must be an image reference such as ${example}, got ${shown(ref)}` });
    } else if (!isPinnedImage(ref)) {
      ctx.addIssue({
        code: "custom",
        message: `must be pinned to a version tag or digest (not latest, not untagged), got ${shown(ref)}`,
      });
    }
  });

/** The `images` setting: the defaults with the configured overrides merged over them. */
export const IMAGES_SETTING = defineSetting({
  key: "images",
  schema: object(
    Object.fromEntries(IMAGE_KEYS.map((key) => [key, pinnedImage(IMAGE_DEFAULTS[key]).optional()])) as Record<
      ImageKey,
      z.ZodOptional<ReturnType<typeof pinnedImage>>
    >,
    "{auth: supabase/gotrue:v2.196.0}",
    "a known image",
  )
    .prefault({})
    .transform((overrides): Record<ImageKey, string> => ({
      ...IMAGE_DEFAULTS,
      ...Object.fromEntries(Object.entries(overrides).filter(([, ref]) => ref !== undefined)),
    })),
  type: "map service → image",
  default: "pinned tags, see [Containers and images](#containers-and-images)",
  doc:
    `override one image per service; keys: ${IMAGE_KEYS.map((k) => `\`${k}\``).join(", ")}; each must be pinned to ` +
    "a tag or digest (no `latest`)",
});
