/**
 * The cluster's images: the pause and CoreDNS images the suite builds from Go (e2e/images/pause, e2e/images/coredns)
 * next to its other local images, and all of them moved from the suite's Docker engine into the cluster's
 * containerd (`docker save` → `ctr -n k8s.io images import`), since no registry is reachable. Pods use them
 * with an image pull policy that never pulls.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { ImageKey } from "../../../../components/services/images";
import { SERVICES } from "../../../../components/services/index";
import { run } from "../../core/proc";
import { dockerEnv } from "../docker/engine";
import { ensureGoImage } from "../docker/goImages";
import { ensureBuilt, IMAGES_SRC } from "../docker/imageBuild";
import { STAND_IN_SERVICES, type ImageChoice } from "../docker/images";

/** The images only the cluster needs. */
export interface ClusterImages {
  /** containerd's pod sandbox (`sandbox_image`). */
  pause: string;
  coredns: string;
  /** The serving stand-ins, per service the Docker phases give the plain stand-in. */
  standIns: Partial<Record<ImageKey, ImageChoice>>;
}

/**
 * The ports a service's stand-in answers on: the service's port and every port its health check asks
 * (`localhost:4000`, `storage:5000`, `/dev/tcp/127.0.0.1/9000`), from the service's module.
 */
export function standInPorts(service: { port: number; healthcheck: { tests: readonly string[] } }): number[] {
  const asked = service.healthcheck.tests.flatMap((t) =>
    [...t.matchAll(/(?:[\w.-]+:(\d{2,5})(?=[/\s'"]|$))|(?:\/dev\/tcp\/[^/]+\/(\d{2,5}))/g)].map((m) =>
      Number(m[1] ?? m[2]),
    ),
  );
  return [...new Set([service.port, ...asked])];
}

/**
 * The serving stand-in (e2e/images/standin-http) per service: on a cluster a pod whose probes fail is never ready, so
 * the plain stand-in could never finish a rollout. Still not the service: it answers 200 to every request on its
 * ports and nothing else.
 */
async function ensureServingStandIns(host: string, cacheDir: string, log: (t: string) => void) {
  const base = await ensureGoImage(
    host,
    cacheDir,
    {
      folder: "standin-http",
      repository: "local/supabase-e2e-standin-http",
      module: "",
      target: ".",
      binary: "standin-http",
    },
    log,
  );
  const standIns: Partial<Record<ImageKey, ImageChoice>> = {};
  for (const key of STAND_IN_SERVICES) {
    const service = SERVICES.find((s) => s.image === key);
    if (!service) continue;
    const ports = standInPorts(service).join(",");
    standIns[key] = {
      ref: await ensureBuilt(
        host,
        `local/supabase-e2e-standin-http-${key}`,
        path.join(IMAGES_SRC, "standin-http-service"),
        { BASE: base, SERVICE: key, PORTS: ports },
        log,
      ),
      real: false,
      note: `serving stand-in (e2e/images/standin-http): answers 200 to every request on ports ${ports} so that its probes pass, and does nothing else`,
    };
  }
  return standIns;
}

/** CoreDNS's module, as its wrapper module (e2e/images/coredns) requires it. */
const COREDNS_MODULE = "github.com/coredns/coredns";

/** Builds (or finds) the pause, CoreDNS and serving stand-in images on the suite's Docker engine. */
export async function ensureClusterImages(
  host: string,
  cacheDir: string,
  log: (t: string) => void,
): Promise<ClusterImages> {
  fs.mkdirSync(cacheDir, { recursive: true });
  const pause = await ensureGoImage(
    host,
    cacheDir,
    { folder: "pause", repository: "local/supabase-e2e-pause", module: "", target: ".", binary: "pause" },
    log,
  );
  const coredns = await ensureGoImage(
    host,
    cacheDir,
    {
      folder: "coredns",
      repository: "local/supabase-e2e-coredns",
      module: COREDNS_MODULE,
      target: COREDNS_MODULE,
      binary: "coredns",
    },
    log,
  );
  return { pause, coredns, standIns: await ensureServingStandIns(host, cacheDir, log) };
}

/** The name containerd stores a Docker reference under (`local/x:t` → `docker.io/local/x:t`), as the CRI asks for it. */
export function containerdName(ref: string): string {
  const first = ref.split("/")[0];
  const hasRegistry = ref.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost");
  if (hasRegistry) return ref;
  return ref.includes("/") ? `docker.io/${ref}` : `docker.io/library/${ref}`;
}

/**
 * Saves `refs` from the Docker engine at `host` into one archive (layers shared between images are written once)
 * and imports it into the cluster's containerd, unpacked for its overlayfs snapshotter. Returns the seconds taken.
 */
export async function importImages(
  host: string,
  containerdSocket: string,
  refs: string[],
  tmpDir: string,
): Promise<number> {
  const t0 = performance.now();
  const archive = path.join(tmpDir, "images.tar");
  try {
    await run("docker", ["save", "-o", archive, ...new Set(refs)], { env: dockerEnv(host), timeoutSeconds: 900 });
    await run(
      "ctr",
      ["--address", containerdSocket, "-n", "k8s.io", "images", "import", "--snapshotter", "overlayfs", archive],
      { timeoutSeconds: 900 },
    );
  } finally {
    fs.rmSync(archive, { force: true });
  }
  const listed = (
    await run("ctr", ["--address", containerdSocket, "-n", "k8s.io", "images", "ls", "-q"], { timeoutSeconds: 60 })
  ).stdout.split("\n");
  const missing = [...new Set(refs)].filter((r) => !listed.includes(containerdName(r)));
  if (missing.length) throw new Error(`containerd lacks ${missing.join(", ")} after the import`);
  return Math.round((performance.now() - t0) / 100) / 10;
}
