/**
 * The images the end-to-end suite deploys. No registry was reachable where it was written, so by default it builds
 * them: a Debian base from `debootstrap`, a real PostgreSQL on it that behaves like supabase/postgres where the
 * program relies on it, the real auth server from its Go module, Caddy from its Go module as the gateway's
 * stand-in (it routes auth's paths, nothing else), rclone from its Go module, and clearly named stand-ins for the
 * services it does not build.
 * With `E2E_REAL_IMAGES=1` it uses the pinned Supabase images instead (the docker provider pulls them).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { IMAGE_DEFAULTS, type ImageKey } from "../../../../components/services/images";
import {
  authImageNote,
  caddyVersion,
  ensureAuthImage,
  ensureCaddyImage,
  ensureRcloneImage,
  rcloneImageNote,
} from "./goImages";
import { ensureBase, ensureBuilt, IMAGES_SRC } from "./imageBuild";

/** One image the program is pointed at, and whether it is the service itself. */
export interface ImageChoice {
  ref: string;
  real: boolean;
  note: string;
}

/** Services that get the serve-nothing stand-in image (all but the database, auth, the gateway and rclone). */
export const STAND_IN_SERVICES: ImageKey[] = (Object.keys(IMAGE_DEFAULTS) as ImageKey[]).filter(
  (k) => !["db", "auth", "kong", "backupS3"].includes(k),
);

/** The images of one run: the program's, and the suite's own (see {@link prepareImages}). */
export interface SuiteImages {
  program: Record<ImageKey, ImageChoice>;
  /** The suite's socat image that publishes a service of the stack network on 127.0.0.1; absent with real images. */
  proxy?: string;
  /** Plain Caddy built from its Go module (`local/supabase-e2e-caddy:<tag>`); absent with real images. */
  caddy?: string;
}

/** The program's pinned images, pulled by the docker provider (`E2E_REAL_IMAGES=1`). */
function pinnedImages(): SuiteImages {
  const program = Object.fromEntries(
    (Object.keys(IMAGE_DEFAULTS) as ImageKey[]).map((k) => [
      k,
      { ref: IMAGE_DEFAULTS[k], real: true, note: "pinned upstream image" },
    ]),
  ) as Record<ImageKey, ImageChoice>;
  return { program };
}

/**
 * The gateway's stand-in: Caddy (the image `caddy`) with a Caddyfile that routes `/auth/v1/*` to auth and answers
 * everything else 404, and a `kong` command for the program's health check (e2e/images/kong-standin).
 */
async function kongStandIn(host: string, caddy: string, log: (t: string) => void): Promise<ImageChoice> {
  const context = path.join(IMAGES_SRC, "kong-standin");
  return {
    ref: await ensureBuilt(host, "local/supabase-e2e-standin-kong", context, { CADDY: caddy }, log),
    real: false,
    note:
      `stand-in (e2e/images/kong-standin): Caddy ${caddyVersion()} that routes only /auth/v1/* to auth (prefix ` +
      `stripped) and answers every other path 404; it checks no API key and maps none (kong's key-auth, ACLs and ` +
      `sb_ key templates are absent); kong.yml is uploaded but not read; ${IMAGE_DEFAULTS.kong} is not pulled: the ` +
      `suite runs without a registry`,
  };
}

/** The image per service for this run: built locally, or the pinned upstream ones with `E2E_REAL_IMAGES=1`. */
export async function prepareImages(host: string, cacheDir: string, log: (t: string) => void): Promise<SuiteImages> {
  if (process.env.E2E_REAL_IMAGES === "1") {
    log("E2E_REAL_IMAGES=1: the program's pinned images, pulled by the docker provider");
    return pinnedImages();
  }
  fs.mkdirSync(cacheDir, { recursive: true });
  await ensureBase(host, cacheDir, log);
  // PostgreSQL 17, the major version of the pinned supabase/postgres, comes with Debian trixie.
  await ensureBase(host, cacheDir, log, "trixie");
  const images: Partial<Record<ImageKey, ImageChoice>> = {};
  images.db = {
    ref: await ensureBuilt(host, "local/supabase-e2e-db", path.join(IMAGES_SRC, "postgres"), {}, log),
    real: true,
    note:
      "PostgreSQL 17 from Debian trixie with supabase/postgres's roles, init order, config and data paths " +
      "(e2e/images/postgres); not supabase/postgres (no Supabase extensions)",
  };
  images.auth = { ref: await ensureAuthImage(host, cacheDir, log), real: true, note: authImageNote() };
  const caddy = await ensureCaddyImage(host, cacheDir, log);
  images.kong = await kongStandIn(host, caddy, log);
  // The same image serves the suite's S3 server (`rclone serve s3`) for the backups' off-site copy.
  images.backupS3 = { ref: await ensureRcloneImage(host, cacheDir, log), real: true, note: rcloneImageNote() };
  for (const service of STAND_IN_SERVICES) {
    images[service] = {
      ref: await ensureBuilt(
        host,
        `local/supabase-e2e-standin-${service}`,
        path.join(IMAGES_SRC, "standin"),
        { SERVICE: service },
        log,
      ),
      real: false,
      note: `stand-in (e2e/images/standin): keeps running, serves nothing; ${IMAGE_DEFAULTS[service]} is not pulled: the suite runs without a registry`,
    };
  }
  const proxy = await ensureBuilt(host, "local/supabase-e2e-proxy", path.join(IMAGES_SRC, "proxy"), {}, log);
  return { program: images as Record<ImageKey, ImageChoice>, proxy, caddy };
}
