/** The gateway after a step: kong's configuration in its container is the uploaded one and accepts the keys. */
import { JWKS_PATH } from "../../../components/services/kong/routes";
import { KONG_CONFIG_PATH } from "../../../components/services/kong/gateway";
import { recordedUploads } from "../engines/pulumi/state";
import type { StepContext } from "./deployment";
import { kongCredentials } from "./expected";

/**
 * `kong:uploaded-config`: the `kong.yml` in kong's container is the one the state records as uploaded, it accepts
 * the stack outputs' anon and service_role keys (JWTs and `sb_` keys), and it routes the JWKS.
 */
export async function checkKongConfig({ rec, name, deployment, state, files }: StepContext): Promise<void> {
  const { outputs } = deployment;
  await rec.attempt(name("kong:uploaded-config"), async () => {
    const kong = deployment.layout.names.container("kong");
    const inContainer = await files(kong, KONG_CONFIG_PATH);
    const sent = recordedUploads(state, kong).find((u) => u.file === KONG_CONFIG_PATH)?.content;
    if (sent === undefined) throw new Error("the state records no kong.yml upload");
    if (inContainer === undefined) throw new Error("the container has no kong.yml");
    if (inContainer !== sent) throw new Error("the kong.yml in the container is not the one in state");
    const credentials = kongCredentials(inContainer);
    const wanted: Array<[string, unknown]> = [
      ["anon", outputs.anonKey],
      ["anon", outputs.publishableKey],
      ["service_role", outputs.serviceRoleKey],
      ["service_role", outputs.secretKey],
    ];
    const missing = wanted.filter(([consumer, key]) => !credentials[consumer]?.includes(String(key)));
    if (missing.length)
      throw new Error(`kong.yml lacks the ${missing.map(([c]) => c).join(", ")} keys of the stack outputs`);
    if (!inContainer.includes(JWKS_PATH)) throw new Error("kong.yml has no JWKS route");
    return `kong.yml in the container is the uploaded one (${inContainer.length} bytes) and accepts the output keys`;
  });
}
