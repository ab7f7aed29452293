/**
 * Storage's settings: its backend (file or S3), tenant and image transformations. The defaults are the official
 * self-hosted `.env.example`'s (`stub`), so a stack that sets nothing keeps its files where they are.
 */
import * as z from "zod";
import { flag, object, oneOf } from "../../schema/fields";
import {
  forcePathStyleOf,
  s3AccessKey,
  s3BucketName,
  s3Endpoint,
  s3ForcePathStyle,
  s3KeyPairCheck,
  s3Region,
} from "../../schema/s3";
import { defineSetting, type SettingsValues } from "../../schema/setting";
import { tenantId } from "../pooler/settings";

/** The storage backends. */
export const STORAGE_BACKENDS = ["file", "s3"] as const;

/** `REGION` when no S3 bucket names one: upstream's placeholder. */
export const DEFAULT_STORAGE_REGION = "stub";

const s3 = object(
  {
    bucket: s3BucketName(" with storage.backend s3")
      .meta({ "x-default": "required with `backend: s3`" })
      .describe("`GLOBAL_S3_BUCKET`"),
    endpoint: s3Endpoint()
      .meta({ "x-default": "AWS S3", "x-type": "http(s) URL, no path" })
      .describe("an S3-compatible store (MinIO, R2, …): `GLOBAL_S3_ENDPOINT`, `GLOBAL_S3_PROTOCOL`"),
    region: s3Region()
      .meta({ "x-default": `\`${DEFAULT_STORAGE_REGION}\`; required without \`endpoint\`` })
      .describe("`REGION`: the bucket's region, which S3-protocol clients sign for too"),
    forcePathStyle: s3ForcePathStyle().describe("`GLOBAL_S3_FORCE_PATH_STYLE`"),
    accessKeyId: s3AccessKey(false)
      .meta({ "x-default": "none (the host's AWS credentials)" })
      .describe("`AWS_ACCESS_KEY_ID`; with `secretAccessKey`, or neither"),
    secretAccessKey: s3AccessKey(true)
      .meta({ "x-default": "none (the host's AWS credentials)" })
      .describe(
        "`AWS_SECRET_ACCESS_KEY`; with `accessKeyId`, or neither. In plain config it draws a warning naming the " +
          "`--secret` command",
      ),
  },
  "{bucket: my-bucket, region: us-east-1}",
).superRefine(s3KeyPairCheck, { when: () => true });

/** The backend and the bucket fit each other: a bucket only with `s3`, and with AWS S3 a region. */
function checkBackend(config: { backend: string; s3?: { region?: string; endpoint?: string } }, ctx: z.RefinementCtx) {
  if (config.backend === "s3" && config.s3 === undefined) {
    ctx.addIssue({ code: "custom", path: ["s3", "bucket"], message: "is required with storage.backend s3" });
  } else if (config.backend !== "s3" && config.s3 !== undefined) {
    ctx.addIssue({
      code: "custom",
      path: ["s3"],
      message: 'is only used with storage.backend "s3"; set the backend or remove storage.s3',
    });
  } else if (config.s3 && config.s3.region === undefined && config.s3.endpoint === undefined) {
    ctx.addIssue({
      code: "custom",
      path: ["s3", "region"],
      message: "is required for AWS S3 (no storage.s3.endpoint), e.g. us-east-1",
    });
  }
}

/** Every setting of storage. */
export const STORAGE_SETTINGS = [
  defineSetting({
    key: "storage",
    schema: object(
      {
        backend: oneOf(STORAGE_BACKENDS, "a backend")
          .default("file")
          .describe("where objects live: the `supabase-storage-data` volume, or an S3 bucket"),
        tenantId: tenantId()
          .default("stub")
          .meta({ "x-default": "`stub` (as upstream)" })
          .describe(
            "`TENANT_ID`: the prefix of every object key, and the project ref S3 clients sign session tokens for. " +
              "Changing it later hides the objects stored under the old one",
          ),
        imageTransformation: flag()
          .default(true)
          .meta({ "x-default": "`true` (as upstream)" })
          .describe(
            "run imgproxy (`supabase-imgproxy`) and let storage render images (`ENABLE_IMAGE_TRANSFORMATION`, " +
              "`IMGPROXY_URL`)",
          ),
        s3: s3.optional().describe("the bucket, with `backend: s3`"),
      },
      "{backend: s3, s3: {bucket: …, region: …}}",
    )
      .prefault({})
      .superRefine(checkBackend)
      .transform(({ s3, ...config }) => ({
        ...config,
        ...(s3
          ? {
              s3: {
                ...s3,
                region: s3.region ?? DEFAULT_STORAGE_REGION,
                forcePathStyle: forcePathStyleOf(s3),
              },
            }
          : {}),
      })),
    doc: "storage's backend (`s3.bucket` required with `s3`) and tenant; imgproxy for image transformations",
    details: "docs/platform.md#storage-backend-tenant-image-transformations",
  }),
] as const;

/** Storage's backend, tenant and image transformations. */
export type StorageConfig = SettingsValues<typeof STORAGE_SETTINGS>["storage"];
/** The S3 bucket storage keeps its objects in (`storage.backend: s3`). */
export type S3BackendConfig = NonNullable<StorageConfig["s3"]>;
