/**
 * How the suite builds its images without a registry: a Debian base from `debootstrap`, and `docker build` of a
 * folder of e2e/images under a tag derived from its content, skipped when that image exists already.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { dockerEnv } from "./engine";
import { run, works } from "../../core/proc";

/** The folder of the image build contexts. */
export const IMAGES_SRC = path.join(__dirname, "..", "..", "..", "images");

/** The Debian releases the local images are built on: bookworm for most, trixie for PostgreSQL 17. */
export type DebianSuite = "bookworm" | "trixie";

/** The Debian base image of a release. */
export const baseImage = (suite: DebianSuite): string => `local/debian:${suite}`;

/** The Debian base most local images are built on. */
export const BASE_IMAGE = baseImage("bookworm");

/** Whether the engine at `host` has the image `ref`. */
export async function imageExists(host: string, ref: string): Promise<boolean> {
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

/** A Debian base: `debootstrap --variant=minbase <suite>` into the cache, then `docker import`. */
export async function ensureBase(
  host: string,
  cacheDir: string,
  log: (t: string) => void,
  suite: DebianSuite = "bookworm",
): Promise<void> {
  const image = baseImage(suite);
  if (await imageExists(host, image)) return;
  const rootfs = path.join(cacheDir, `rootfs-${suite}`);
  if (!fs.existsSync(path.join(rootfs, "etc", "debian_version"))) {
    if (!works("debootstrap", ["--version"]))
      throw new Error("debootstrap is needed to build the base image: apt-get install -y debootstrap");
    fs.rmSync(rootfs, { recursive: true, force: true });
    log(`debootstrap --variant=minbase ${suite} (downloads ~40 MB of packages; several minutes)`);
    await run(
      "debootstrap",
      ["--variant=minbase", suite, rootfs, process.env.E2E_DEBIAN_MIRROR || "http://deb.debian.org/debian"],
      {
        timeoutSeconds: 1800,
      },
    );
  }
  log(`docker import ${image}`);
  await run("sh", ["-c", `tar -C '${rootfs}' -c . | docker import - ${image}`], {
    env: dockerEnv(host),
    timeoutSeconds: 600,
  });
}

/** `docker build -t ref context` with the classic builder (the engine may have no BuildKit). */
export async function dockerBuild(
  host: string,
  ref: string,
  context: string,
  buildArgs: Record<string, string> = {},
): Promise<void> {
  const args = [
    "build",
    "-q",
    "-t",
    ref,
    ...Object.entries(buildArgs).flatMap(([k, v]) => ["--build-arg", `${k}=${v}`]),
    context,
  ];
  await run("docker", args, { env: { ...dockerEnv(host), DOCKER_BUILDKIT: "0" }, timeoutSeconds: 1800 });
}

/** Builds `context` as `repository:<content tag>` unless that image exists already; returns the reference. */
export async function ensureBuilt(
  host: string,
  repository: string,
  context: string,
  buildArgs: Record<string, string>,
  log: (t: string) => void,
): Promise<string> {
  const ref = `${repository}:${contextTag(context, buildArgs)}`;
  if (await imageExists(host, ref)) return ref;
  log(`docker build ${ref}`);
  await dockerBuild(host, ref, context, buildArgs);
  return ref;
}
