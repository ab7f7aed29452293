/**
 * The checks after every lifecycle step, in the order the report lists them: the containers, their env and files
 * against the state and the keyring, the gateway, the published ports and aliases, and the state file.
 */
import type { CheckNamer, Recorder } from "../core/report";
import { containerFileReader } from "../engines/docker/inspect";
import { readStackState } from "../engines/pulumi/state";
import {
  checkDbNotRecreated,
  checkEnvAsInState,
  checkHardened,
  checkNetworkAliases,
  checkPublishedPorts,
  checkRunning,
  checkUploadsAsInState,
} from "./containers";
import type { Deployment, StepContext } from "./deployment";
import { parsePublicJwks } from "./expected";
import { checkKongConfig } from "./gateway";
import { checkAuthSigningKeys, checkVerifierJwks } from "./signingKeys";
import { checkSecretsEncrypted } from "./stateFile";

/**
 * The checks after every step: containers, their env and files against state and keyring, and the state file.
 * `dbId` is the db container S0 created (absent: the db check is skipped).
 * @returns what the checks read, for a step's own checks.
 */
export async function checkDeployment(
  rec: Recorder,
  host: string,
  name: CheckNamer,
  deployment: Deployment,
  dbId: string | undefined,
): Promise<StepContext> {
  await checkRunning(rec, name, deployment);
  const state = await readStackState(deployment.project);
  const step: StepContext = { rec, name, deployment, state, files: containerFileReader(host) };
  await checkEnvAsInState(step);
  const published = parsePublicJwks(String(deployment.outputs.jwks), "stack output jwks");
  await checkAuthSigningKeys(step, published);
  await checkVerifierJwks(step, published);
  await checkUploadsAsInState(step);
  await checkKongConfig(step);
  await checkPublishedPorts(step);
  await checkNetworkAliases(step);
  await checkHardened(step);
  if (dbId) checkDbNotRecreated(step, dbId);
  await checkSecretsEncrypted(step);
  return step;
}
