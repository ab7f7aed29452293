/**
 * The images the suite builds from Go modules, each through a wrapper module under e2e/images that pins the
 * program's version in its go.mod and go.sum: the real auth server (supabase/auth), Caddy (caddyserver/caddy) and
 * rclone (rclone/rclone).
 * `go build` runs on the host with CGO off, so the binary runs on the Debian base without Go or a C library
 * beyond its own; the image is tagged by the wrapper folder's content, so a second run reuses it.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { IMAGE_DEFAULTS } from "../../../../components/services/images";
import { run } from "../../core/proc";
import { contextTag, dockerBuild, imageExists, IMAGES_SRC } from "./imageBuild";

/** A program built from its Go module by a wrapper module in e2e/images/<folder>, and the image it goes into. */
export interface GoImage {
  /** The wrapper module's folder under e2e/images; its files make the image's tag. */
  folder: string;
  /** The image's repository (`local/supabase-e2e-…`). */
  repository: string;
  /** The Go module the wrapper requires, whose version the log names; empty for a program of the folder's own. */
  module: string;
  /** What `go build` builds in the wrapper module: a package path, or `.` for the wrapper's own main package. */
  target: string;
  /** The binary's name in the build context (the Dockerfile copies it from there). */
  binary: string;
  /** Puts what else the image needs into the build context (auth: the migrations of its module). */
  addToContext?: (context: string, src: string) => Promise<void>;
}

/** The wrapper module's files that are Go sources; every other file of the folder goes into the build context. */
const isGoSource = (name: string) => name === "go.mod" || name === "go.sum" || name.endsWith(".go");

/** The version of `module` that the wrapper module in e2e/images/<folder> requires. */
export function requiredVersion(folder: string, module: string): string {
  const goMod = fs.readFileSync(path.join(IMAGES_SRC, folder, "go.mod"), "utf8");
  const match = new RegExp(`^require ${module.replace(/[./]/g, "\\$&")} (\\S+)`, "m").exec(goMod);
  if (!match) throw new Error(`e2e/images/${folder}/go.mod does not require ${module}`);
  return match[1];
}

/**
 * `go build` of the image's program, then `docker build` of the folder's Dockerfile with the binary, unless the
 * image of this content exists already. Returns the reference.
 */
export async function ensureGoImage(host: string, cacheDir: string, image: GoImage, log: (t: string) => void) {
  const src = path.join(IMAGES_SRC, image.folder);
  const ref = `${image.repository}:${contextTag(src)}`;
  if (await imageExists(host, ref)) return ref;
  const context = fs.mkdtempSync(path.join(cacheDir, `${image.folder}-context-`));
  try {
    const program = image.module
      ? `${image.module}@${requiredVersion(image.folder, image.module)}`
      : `e2e/images/${image.folder}`;
    log(`go build ${program} (a few minutes cold)`);
    const started = performance.now();
    await run("go", ["build", "-trimpath", "-o", path.join(context, image.binary), image.target], {
      cwd: src,
      env: { ...process.env, CGO_ENABLED: "0", GOFLAGS: "-mod=readonly" },
      timeoutSeconds: 1800,
      stream: `    [go ${image.folder}] `,
    });
    log(`go build ${program}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
    await image.addToContext?.(context, src);
    for (const name of fs.readdirSync(src).filter((n) => !isGoSource(n)))
      fs.copyFileSync(path.join(src, name), path.join(context, name));
    log(`docker build ${ref}`);
    await dockerBuild(host, ref, context);
    return ref;
  } finally {
    fs.rmSync(context, { recursive: true, force: true });
  }
}

/** The auth server's module, as its wrapper module (e2e/images/auth) requires it. */
const AUTH_MODULE = "github.com/supabase/auth";

/** Caddy's module, as its wrapper module (e2e/images/caddy) requires it. */
const CADDY_MODULE = "github.com/caddyserver/caddy/v2";

/**
 * The real auth server: `go build` of github.com/supabase/auth (wrapper module e2e/images/auth), in an image laid
 * out like supabase/auth's own (binary, the migrations from the module, GOTRUE_DB_MIGRATIONS_PATH).
 */
export function ensureAuthImage(host: string, cacheDir: string, log: (t: string) => void): Promise<string> {
  return ensureGoImage(
    host,
    cacheDir,
    {
      folder: "auth",
      repository: "local/supabase-e2e-auth",
      module: AUTH_MODULE,
      target: AUTH_MODULE,
      binary: "auth",
      addToContext: async (context, src) => {
        const moduleDir = (
          await run("go", ["list", "-m", "-f", "{{.Dir}}", AUTH_MODULE], { cwd: src, timeoutSeconds: 120 })
        ).stdout.trim();
        fs.cpSync(path.join(moduleDir, "migrations"), path.join(context, "migrations"), { recursive: true });
      },
    },
    log,
  );
}

/**
 * Plain Caddy: `go build` of the wrapper module e2e/images/caddy (Caddy's own main with the standard modules), in
 * an image laid out like the official caddy image. Nothing of the suite's is in it: the kong stand-in is built
 * FROM it, and a TLS proxy in front of the gateway can run it as it is.
 */
export function ensureCaddyImage(host: string, cacheDir: string, log: (t: string) => void): Promise<string> {
  return ensureGoImage(
    host,
    cacheDir,
    { folder: "caddy", repository: "local/supabase-e2e-caddy", module: CADDY_MODULE, target: ".", binary: "caddy" },
    log,
  );
}

/** The report's note on the auth image: built from which module version, and what the program pins instead. */
export function authImageNote(): string {
  return `supabase/auth built from its Go module (${requiredVersion("auth", AUTH_MODULE)}); the program pins ${IMAGE_DEFAULTS.auth}`;
}

/** Caddy's version as its wrapper module requires it. */
export function caddyVersion(): string {
  return requiredVersion("caddy", CADDY_MODULE);
}

/** rclone's module, as its wrapper module (e2e/images/rclone) requires it. */
const RCLONE_MODULE = "github.com/rclone/rclone";

/**
 * rclone: `go build` of the wrapper module e2e/images/rclone (rclone's command line with the local and s3 backends and
 * the commands the backup-s3 service and the suite's S3 server use), laid out as the official rclone/rclone image is.
 */
export function ensureRcloneImage(host: string, cacheDir: string, log: (t: string) => void): Promise<string> {
  return ensureGoImage(
    host,
    cacheDir,
    { folder: "rclone", repository: "local/supabase-e2e-rclone", module: RCLONE_MODULE, target: ".", binary: "rclone" },
    log,
  );
}

/** The report's note on the rclone image: built from which module version, and what the program pins instead. */
export function rcloneImageNote(): string {
  return (
    `rclone built from its Go module (${requiredVersion("rclone", RCLONE_MODULE)}) with the local and s3 backends and ` +
    `the commands the backup-s3 service runs, busybox's tools first on PATH as in the Alpine image; the program pins ` +
    IMAGE_DEFAULTS.backupS3
  );
}
