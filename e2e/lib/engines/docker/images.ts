/**
 * The images the end-to-end suite deploys. No registry was reachable where it was written, so by default it builds
 * them: a Debian base from `debootstrap`, a real PostgreSQL on it that behaves like supabase/postgres where the
 * program relies on it, the real auth server from its Go module, and clearly named stand-ins for the services it
 * does not build. With `E2E_REAL_IMAGES=1` it uses the pinned Supabase images instead (the docker provider pulls
 * them).
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { IMAGE_DEFAULTS, type ImageKey } from "../../../../components/services/images";
import { dockerEnv } from "./engine";
import { run, works } from "../../core/proc";

/** The folder of the image build contexts. */
export const IMAGES_SRC = path.join(__dirname, "..", "..", "..", "images");

/** The Debian base every local image is built on. */
export const BASE_IMAGE = "local/debian:bookworm";

/** One image the program is pointed at, and whether it is the service itself. */
export interface ImageChoice {
  ref: string;
  real: boolean;
  note: string;
}

async function imageExists(host: string, ref: string): Promise<boolean> {
  const r = await run("docker", ["image", "inspect", ref], {
    env: dockerEnv(host),
    allowFailure: true,
    timeoutSeconds: 30,
  });
  return r.status === 0;
}

/** A tag derived from a build context's files and its build arguments, so a changed Dockerfile is a new image. */
export function contextTag(dir: string, buildArgs: Record<string, string> = {}): string {
  const hash = createHash("sha256").update(JSON.stringify(buildArgs));
  for (const name of fs.readdirSync(dir).sort())
    hash
      .update(name)
      .update("\0")
      .update(fs.readFileSync(path.join(dir, name)));
  return hash.digest("hex").slice(0, 12);
}

/** The Debian base: `debootstrap --variant=minbase bookworm` into the cache, then `docker import`. */
async function ensureBase(host: string, cacheDir: string, log: (t: string) => void): Promise<void> {
  if (await imageExists(host, BASE_IMAGE)) return;
  const rootfs = path.join(cacheDir, "rootfs-bookworm");
  if (!fs.existsSync(path.join(rootfs, "etc", "debian_version"))) {
    if (!works("debootstrap", ["--version"]))
      throw new Error("debootstrap is needed to build the base image: apt-get install -y debootstrap");
    fs.rmSync(rootfs, { recursive: true, force: true });
    log("debootstrap --variant=minbase bookworm (downloads ~40 MB of packages; several minutes)");
    await run(
      "debootstrap",
      ["--variant=minbase", "bookworm", rootfs, process.env.E2E_DEBIAN_MIRROR || "http://deb.debian.org/debian"],
      {
        timeoutSeconds: 1800,
      },
    );
  }
  log(`docker import ${BASE_IMAGE}`);
  await run("sh", ["-c", `tar -C '${rootfs}' -c . | docker import - ${BASE_IMAGE}`], {
    env: dockerEnv(host),
    timeoutSeconds: 600,
  });
}

/** Builds `context` as `repository:<content tag>` unless that image exists already; returns the reference. */
async function ensureBuilt(
  host: string,
  repository: string,
  context: string,
  buildArgs: Record<string, string>,
  log: (t: string) => void,
): Promise<string> {
  const ref = `${repository}:${contextTag(context, buildArgs)}`;
  if (await imageExists(host, ref)) return ref;
  log(`docker build ${ref}`);
  const args = [
    "build",
    "-q",
    "-t",
    ref,
    ...Object.entries(buildArgs).flatMap(([k, v]) => ["--build-arg", `${k}=${v}`]),
    context,
  ];
  await run("docker", args, { env: { ...dockerEnv(host), DOCKER_BUILDKIT: "0" }, timeoutSeconds: 1800 });
  return ref;
}

/** Services that get a stand-in image (everything but the database and auth). */
export const STAND_IN_SERVICES: ImageKey[] = (Object.keys(IMAGE_DEFAULTS) as ImageKey[]).filter(
  (k) => k !== "db" && k !== "auth",
);

/** The suite's socat image that publishes a service of the stack network on 127.0.0.1 (see {@link prepareImages}). */
export interface SuiteImages {
  program: Record<ImageKey, ImageChoice>;
  /** `local/supabase-e2e-proxy:<tag>`; absent with real images (no local base to build it on). */
  proxy?: string;
}

/** The auth server's version as its wrapper module requires it. */
export function authModuleVersion(): string {
  const goMod = fs.readFileSync(path.join(IMAGES_SRC, "auth", "go.mod"), "utf8");
  const match = /^require github\.com\/supabase\/auth (\S+)/m.exec(goMod);
  if (!match) throw new Error("e2e/images/auth/go.mod does not require github.com/supabase/auth");
  return match[1];
}

/**
 * The real auth server: `go build` of github.com/supabase/auth (wrapper module e2e/images/auth), then an image
 * laid out like supabase/auth's own (binary, migrations from the module, GOTRUE_DB_MIGRATIONS_PATH).
 */
async function ensureAuth(host: string, cacheDir: string, log: (t: string) => void): Promise<string> {
  const src = path.join(IMAGES_SRC, "auth");
  const ref = `local/supabase-e2e-auth:${contextTag(src)}`;
  if (await imageExists(host, ref)) return ref;
  const context = fs.mkdtempSync(path.join(cacheDir, "auth-context-"));
  try {
    const version = authModuleVersion();
    log(`go build github.com/supabase/auth@${version} (a few minutes cold)`);
    await run("go", ["build", "-trimpath", "-o", path.join(context, "auth"), "github.com/supabase/auth"], {
      cwd: src,
      env: { ...process.env, CGO_ENABLED: "0", GOFLAGS: "-mod=readonly" },
      timeoutSeconds: 1800,
      stream: "    [go auth] ",
    });
    const moduleDir = (
      await run("go", ["list", "-m", "-f", "{{.Dir}}", "github.com/supabase/auth"], { cwd: src, timeoutSeconds: 120 })
    ).stdout.trim();
    fs.cpSync(path.join(moduleDir, "migrations"), path.join(context, "migrations"), { recursive: true });
    fs.copyFileSync(path.join(src, "Dockerfile"), path.join(context, "Dockerfile"));
    log(`docker build ${ref}`);
    await run("docker", ["build", "-q", "-t", ref, context], {
      env: { ...dockerEnv(host), DOCKER_BUILDKIT: "0" },
      timeoutSeconds: 1800,
    });
    return ref;
  } finally {
    fs.rmSync(context, { recursive: true, force: true });
  }
}

/** The image per service for this run: built locally, or the pinned upstream ones with `E2E_REAL_IMAGES=1`. */
export async function prepareImages(host: string, cacheDir: string, log: (t: string) => void): Promise<SuiteImages> {
  if (process.env.E2E_REAL_IMAGES === "1") {
    log("E2E_REAL_IMAGES=1: the program's pinned images, pulled by the docker provider");
    const program = Object.fromEntries(
      (Object.keys(IMAGE_DEFAULTS) as ImageKey[]).map((k) => [
        k,
        { ref: IMAGE_DEFAULTS[k], real: true, note: "pinned upstream image" },
      ]),
    ) as Record<ImageKey, ImageChoice>;
    return { program };
  }
  fs.mkdirSync(cacheDir, { recursive: true });
  await ensureBase(host, cacheDir, log);
  const images: Partial<Record<ImageKey, ImageChoice>> = {};
  images.db = {
    ref: await ensureBuilt(host, "local/supabase-e2e-db", path.join(IMAGES_SRC, "postgres"), {}, log),
    real: true,
    note: "PostgreSQL 15 from Debian with supabase/postgres's roles and init order (e2e/images/postgres); not supabase/postgres",
  };
  images.auth = {
    ref: await ensureAuth(host, cacheDir, log),
    real: true,
    note: `supabase/auth built from its Go module (${authModuleVersion()}); the program pins ${IMAGE_DEFAULTS.auth}`,
  };
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
  return { program: images as Record<ImageKey, ImageChoice>, proxy };
}
