/**
 * The Kubernetes phase: its builds start with the suite (at a low priority, so they overlap the Pulumi toolchain's
 * build and the Docker scenarios), and after the Docker scenarios the suite starts its cluster on them, checks it
 * runs workloads, runs the program's Kubernetes scenarios on it, and stops it, also on failure. `E2E_KUBERNETES=0`
 * skips all of it.
 */
import * as path from "node:path";
import type { Recorder } from "../core/report";
import { startCluster, type KubernetesCluster } from "../engines/kubernetes/cluster";
import { ensureClusterImages, type ClusterImages } from "../engines/kubernetes/images";
import type { SuiteImages } from "../engines/docker/images";
import { checkPluginSchema } from "../checks/providerSchemas";
import { obtainKubernetesToolchain, type KubernetesToolchain } from "../toolchain/kubernetes";
import type { Toolchain } from "../toolchain/obtain";
import { ALGORITHMS, type Algorithm } from "../../../components/keyring/algorithms";
import { RESOURCE_TYPES } from "../../../components/targets/resourceTypes";
import { SERVICES } from "../../../components/services/index";
import { runKubernetesLifecycle } from "./kubernetesLifecycle";

/** Whether the suite runs the Kubernetes phase (`E2E_KUBERNETES=0` skips it, its builds included). */
export const kubernetesRequested = (): boolean => process.env.E2E_KUBERNETES !== "0";

/** Every @pulumi/kubernetes resource type the program can declare, compared with the built provider's schema. */
export const KUBERNETES_TYPES = Object.values(RESOURCE_TYPES).filter((t) => t.startsWith("kubernetes:"));

/**
 * The algorithms of the Kubernetes lifecycle (`E2E_KUBERNETES_ALGORITHMS`, default ES256; `none` runs only the
 * cluster's own checks); the first runs in full (destroy and a fresh up on the kept data).
 */
export function kubernetesAlgorithms(): Algorithm[] {
  return (process.env.E2E_KUBERNETES_ALGORITHMS ?? "ES256")
    .split(",")
    .filter((a) => a !== "" && a !== "none")
    .map((a) => {
      if (!(ALGORITHMS as readonly string[]).includes(a))
        throw new Error(`E2E_KUBERNETES_ALGORITHMS: ${a} is not one of ${ALGORITHMS.join(", ")}`);
      return a as Algorithm;
    });
}

/** The phase's builds under way, and the cluster once it runs. */
export class KubernetesPhase {
  readonly toolchain: Promise<KubernetesToolchain>;
  private images?: Promise<ClusterImages>;
  private readonly abort = new AbortController();
  private built?: KubernetesToolchain;
  cluster?: KubernetesCluster;
  version = "not run";
  readonly startedAt = performance.now();

  /** Starts the builds now. */
  constructor(
    private readonly repoRoot: string,
    private readonly log: (text: string) => void,
  ) {
    const prefixed = (t: string) => log(`[kubernetes build] ${t}`);
    this.toolchain = obtainKubernetesToolchain(repoRoot, prefixed, this.abort.signal).then((t) => (this.built = t));
    // Awaited in run(); until then a failure must not count as an unhandled rejection.
    this.toolchain.catch(() => undefined);
  }

  /** Starts building the pause and CoreDNS images once the suite's Docker engine answers. */
  useDocker(host: string, cacheDir: string): void {
    this.images = ensureClusterImages(host, cacheDir, (t) => this.log(`[kubernetes images] ${t}`));
    this.images.catch(() => undefined);
  }

  /** The report's part: per build, built or cached and its seconds; the cluster's start time. */
  report(): {
    builds: Record<string, { source: string; seconds?: number; cacheDir?: string }>;
    clusterStartSeconds?: number;
  } {
    return { builds: this.built?.parts ?? {}, clusterStartSeconds: this.cluster?.readiness.startSeconds };
  }

  /** The provider plugin, for the report's `plugins` (once built). */
  get plugin(): KubernetesToolchain["provider"] | undefined {
    return this.built?.provider;
  }

  /**
   * Waits for the builds, starts the cluster under `work` and checks it (`k8s:cluster-ready`) and the provider's
   * schema, runs the lifecycle per algorithm on it, then stops the cluster (`k8s:teardown`).
   */
  async run(rec: Recorder, ctx: PhaseContext): Promise<void> {
    const waited = performance.now();
    const toolchain = await this.toolchain;
    if (!this.images) throw new Error("the cluster images were never started (no Docker engine)");
    const clusterImages = await this.images;
    ctx.metrics["k8sBuildWaitSeconds"] = Math.round((performance.now() - waited) / 100) / 10;
    await checkPluginSchema(rec, this.repoRoot, toolchain.provider, KUBERNETES_TYPES);
    try {
      const cluster = await this.startCluster(rec, ctx, toolchain, clusterImages);
      if (!cluster) return;
      const algorithms = kubernetesAlgorithms();
      for (const algorithm of algorithms) {
        const full = algorithm === algorithms[0];
        await rec.phase(`kubernetes lifecycle ${algorithm}`, full ? "four rollouts, destroy, a fresh up" : "", () =>
          runKubernetesLifecycle({
            rec,
            repoRoot: this.repoRoot,
            work: path.join(ctx.work, algorithm.toLowerCase()),
            env: ctx.env,
            toolchain: ctx.toolchain,
            kubernetes: toolchain,
            cluster,
            images: ctx.images,
            clusterImages,
            algorithm,
            full,
            log: this.log,
            metrics: ctx.metrics,
          }),
        );
      }
    } finally {
      await this.stopCluster(rec, ctx.metrics);
    }
  }

  /** Starts the cluster and records `k8s:cluster-ready`; undefined when it did not start. */
  private async startCluster(
    rec: Recorder,
    ctx: PhaseContext,
    toolchain: KubernetesToolchain,
    images: ClusterImages,
  ): Promise<KubernetesCluster | undefined> {
    try {
      const smoke = ctx.images.caddy;
      if (!smoke)
        throw new Error("the smoke Deployment needs the suite's Caddy image (not built with E2E_REAL_IMAGES=1)");
      // Only the images of services that run on a cluster (not the backups' rclone) are moved into containerd.
      const program = [
        ...Object.entries(ctx.images.program)
          .filter(([key]) => SERVICES.some((s) => s.image === key && s.kubernetes !== undefined))
          .map(([, i]) => i.ref),
        ...Object.values(images.standIns).map((i) => i.ref),
      ];
      this.cluster = await startCluster({
        toolchain,
        dir: path.join(ctx.work, "cluster"),
        dockerHost: ctx.dockerHost,
        images: { pause: images.pause, coredns: images.coredns, smoke, program },
        log: this.log,
      });
      const r = this.cluster.readiness;
      this.version = r.serverVersion;
      ctx.metrics["k8sClusterStartSeconds"] = r.startSeconds;
      ctx.metrics["k8sNodeReadySeconds"] = r.nodeReadySeconds;
      ctx.metrics["k8sImageImportSeconds"] = r.imageImportSeconds;
      rec.check(
        "k8s:cluster-ready",
        true,
        `${r.serverVersion}: node Ready after ${r.nodeReadySeconds} s; CoreDNS answered kubernetes.default with ` +
          `${r.dnsAnswer.join(", ")}; a 2-replica Deployment of a local image Ready in ${r.smokeReadySeconds} s; ` +
          `the cluster up in ${r.startSeconds} s (images imported in ${r.imageImportSeconds} s)`,
      );
      return this.cluster;
    } catch (err) {
      rec.check("k8s:cluster-ready", false, err instanceof Error ? err.message : String(err));
      return undefined;
    }
  }

  /** Stops the cluster if it runs (`k8s:teardown`: the host put back as it was). */
  private async stopCluster(rec: Recorder | undefined, metrics: Record<string, number>): Promise<void> {
    const cluster = this.cluster;
    if (!cluster) return;
    const t0 = performance.now();
    try {
      await cluster.stop();
      rec?.check("k8s:teardown", true, "every process stopped, mounts and host changes undone");
    } catch (err) {
      rec?.check("k8s:teardown", false, err instanceof Error ? err.message : String(err));
    }
    metrics["k8sTeardownSeconds"] = Math.round((performance.now() - t0) / 100) / 10;
  }

  /** At the end of the suite, also on failure: stops the builds and the cluster. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.cluster?.stop().catch((e) => this.log(`stopping the cluster: ${e instanceof Error ? e.message : e}`));
  }
}

/** What the phase needs from the suite. */
export interface PhaseContext {
  work: string;
  dockerHost: string;
  images: SuiteImages;
  metrics: Record<string, number>;
  /** The Pulumi toolchain and the environment of every `pulumi` command. */
  toolchain: Toolchain;
  env: NodeJS.ProcessEnv;
}
