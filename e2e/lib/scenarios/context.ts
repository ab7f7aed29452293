/** What every scenario gets from the suite: the engines and images it runs on, where to record, where to work. */
import type { Algorithm } from "../../../components/keyring/algorithms";
import type { Recorder } from "../core/report";
import type { DockerEngine } from "../engines/docker/engine";
import type { SuiteImages } from "../engines/docker/images";
import type { Toolchain } from "../toolchain/obtain";

/** Everything one scenario run needs. */
export interface ScenarioContext {
  rec: Recorder;
  repoRoot: string;
  /** An empty directory for this run's project copy and backend. */
  work: string;
  env: NodeJS.ProcessEnv;
  toolchain: Toolchain;
  docker: DockerEngine;
  images: SuiteImages;
  algorithm: Algorithm;
  log: (text: string) => void;
  /** Named measurements for the report (seconds). */
  metrics: Record<string, number>;
  /**
   * Also check a rejected config, and `pulumi destroy` then a fresh `pulumi up` on the kept volumes (done for one
   * algorithm; the others only run the rotation).
   */
  full: boolean;
}
