/** The suite's cache directory, kept between runs. */
import { PROJECT } from "../../../components/schema/project";
import * as os from "node:os";
import * as path from "node:path";

/** Where built toolchains and the suite's Docker data live between runs. */
export function cacheRoot(): string {
  return process.env.E2E_CACHE || path.join(os.homedir(), ".cache", `${PROJECT}-e2e`);
}
