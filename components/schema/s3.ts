/**
 * The fields of an S3 bucket as every setting that names one takes them (storage's backend, the backups' off-site
 * copy): the bucket's name, an S3-compatible endpoint, the region, and an access key pair given together or not at
 * all. Each caller adds its own description. Pure.
 */
import * as z from "zod";
import { flag, httpUrl, text } from "./fields";

/** S3's bucket naming rules (lower case, digits, dots and hyphens, 3-63 characters). */
export const S3_BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** A bucket name; `required` ends the "is required" message (e.g. ` with storage.backend s3`). */
export const s3BucketName = (required: string) =>
  text(
    {
      pattern: S3_BUCKET,
      expected: "an S3 bucket name (3-63 characters of a-z, 0-9, . and -)",
      type: "S3 bucket name",
    },
    { required },
  );

/** An S3-compatible endpoint: an http(s) URL without a path, its trailing slash dropped. */
export const s3Endpoint = () =>
  httpUrl({
    expected: "an http(s) URL without a path, such as https://s3.example.com",
    pattern: /^https?:\/\/[^\s/?#]+\/?$/,
  })
    .transform((url) => url.replace(/\/$/, ""))
    .optional();

/** A region name such as `us-east-1`. */
export const s3Region = () =>
  text({
    pattern: /^[A-Za-z0-9-]{1,64}$/,
    expected: "a region name such as us-east-1",
    type: "region name",
  }).optional();

/**
 * Path-style addressing (`endpoint/bucket/key`): most S3-compatible stores (MinIO, …) want it, AWS wants
 * virtual-hosted; the default follows {@link forcePathStyleOf}.
 */
export const s3ForcePathStyle = () => flag().optional().meta({ "x-default": "`true` with `endpoint`, else `false`" });

/** Whether a bucket is addressed path-style: as set, else with an endpoint of its own. */
export const forcePathStyleOf = (bucket: { forcePathStyle?: boolean; endpoint?: string }): boolean =>
  bucket.forcePathStyle ?? bucket.endpoint !== undefined;

/** An access key id (`secret: false`) or secret access key (`secret: true`). */
export const s3AccessKey = (secret: boolean) =>
  text({ pattern: /^\S+$/, expected: "a non-empty text without spaces" }, { secret }).optional();

/**
 * Refuses an access key id without its secret or the other way round, judged on what was given even when another
 * field is wrong, so both problems show at once.
 */
export function s3KeyPairCheck(fields: unknown, ctx: z.RefinementCtx): void {
  const given = fields as Record<string, unknown> | null;
  if (typeof given !== "object" || given === null) return;
  if ((given.accessKeyId === undefined) !== (given.secretAccessKey === undefined)) {
    ctx.addIssue({
      code: "custom",
      message: "needs accessKeyId and secretAccessKey together (or neither, to use the host's AWS credentials)",
    });
  }
}
