/**
 * The checks of the component-package phase (`package:*`): the package is added to a YAML program, the component
 * and its children are in that program's state as the package's resources, the real auth server signs a user in
 * with the component's outputs, and a key promotion through the program's config recreates auth alone.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from "jose";
import { parse } from "yaml";
import { pluginToken, ROTATION_GUARD_TOKEN, SIGNING_KEY_TOKEN } from "../../../components/keyring/resourceTokens";
import { SUPABASE_TYPE } from "../../../components/package/supabase";
import { PROJECT } from "../../../components/schema/project";
import { AUTH_JWKS_PATH } from "../../../components/services/auth/paths";
import type { Recorder } from "../core/report";
import type { EngineSteps, PulumiProject } from "../engines/pulumi/project";
import { stateResources, type StateResource } from "../engines/pulumi/state";
import { expectStatus, type AuthEndpoint } from "./auth/endpoint";
import { rolesOf } from "./expected";

/** `package:add`: `pulumi package add <source>` records the package in the program's Pulumi.yaml. */
export async function checkPackageAdd(rec: Recorder, project: PulumiProject, source: string): Promise<boolean> {
  return rec.attempt("package:add", async () => {
    const added = await project.pulumi(["package", "add", source], { timeoutSeconds: 1200 });
    const manifest = parse(fs.readFileSync(path.join(project.dir, "Pulumi.yaml"), "utf8")) as {
      packages?: Record<string, unknown>;
    };
    if (manifest.packages?.[PROJECT] !== source) {
      throw new Error(`Pulumi.yaml records ${JSON.stringify(manifest.packages)}, not ${PROJECT}: ${source}`);
    }
    const sdk = path.join(project.dir, "sdks", PROJECT);
    const declarations = fs.existsSync(sdk) ? fs.readdirSync(sdk) : [];
    if (declarations.length === 0) throw new Error(`no package declaration under ${sdk}`);
    return (
      `pulumi package add took ${added.seconds.toFixed(0)} s; Pulumi.yaml records ${PROJECT}: ${source}; ` +
      `sdks/${PROJECT}/${declarations.join(", ")}`
    );
  });
}

/** The resources of the program's state whose parent is `parent`. */
const childrenOf = (resources: StateResource[], parent: string) => resources.filter((r) => r.parent === parent);

/**
 * `package:component-tree`: the state holds the `Supabase` component with the keyring and the stack under it, the
 * signing keys and the rotation guard as the package's own resources (served by its plugin), and no dynamic-provider
 * resource, which another language's program could not run.
 */
export async function checkComponentTree(rec: Recorder, project: PulumiProject, keys: number): Promise<void> {
  await rec.attempt("package:component-tree", async () => {
    const resources = stateResources(await project.exportState(false));
    const component = resources.find((r) => r.type === SUPABASE_TYPE);
    if (!component) throw new Error(`no ${SUPABASE_TYPE} in the state`);
    const children = childrenOf(resources, component.urn).map((r) => r.type);
    const wanted = [`${PROJECT}:index:SigningKeyring`, `${PROJECT}:index:SupabaseStack`];
    const missing = wanted.filter((type) => !children.includes(type));
    if (missing.length) throw new Error(`the component's children lack ${missing.join(", ")} (has ${children})`);
    const served = resources.filter((r) =>
      [pluginToken(SIGNING_KEY_TOKEN), pluginToken(ROTATION_GUARD_TOKEN)].includes(r.type),
    );
    const provider = `::pulumi:providers:${PROJECT}::`;
    const elsewhere = served.filter((r) => !r.provider?.includes(provider)).map((r) => r.urn);
    if (served.length !== keys + 1 || elsewhere.length) {
      throw new Error(`${served.length} key resources (want ${keys + 1}); not served by the package: ${elsewhere}`);
    }
    const dynamic = resources.filter((r) => r.type.startsWith("pulumi-nodejs:")).map((r) => r.urn);
    if (dynamic.length) throw new Error(`dynamic-provider resources in the state: ${dynamic.join(", ")}`);
    return (
      `${SUPABASE_TYPE} with ${children.length} children (${wanted.join(", ")}); ${keys} signing keys and the ` +
      `rotation guard are ${PROJECT} resources of its own provider; no pulumi-nodejs dynamic resource`
    );
  });
}

/** A user of the consumer's deployment, signed in through the real auth server. */
export interface SignedIn {
  email: string;
  password: string;
  accessToken: string;
}

/** Signs the user in with a password (with the anon key, as a client does); the access token. */
async function signIn(endpoint: AuthEndpoint, user: { email: string; password: string }, anonKey: string) {
  const answer = expectStatus(
    await endpoint.request("POST", "/token?grant_type=password", { token: anonKey, apikey: anonKey, body: user }),
    200,
    "password sign-in",
  );
  return String(answer.body.access_token);
}

/** The token's kid, after jose verified it with the JWKS auth publishes. */
async function verifiedKid(endpoint: AuthEndpoint, token: string): Promise<string> {
  const jwks = expectStatus(await endpoint.request("GET", AUTH_JWKS_PATH), 200, `GET ${AUTH_JWKS_PATH}`).body;
  await jwtVerify(token, createLocalJWKSet(jwks as unknown as JSONWebKeySet));
  return String(decodeProtectedHeader(token).kid);
}

/**
 * `package:sign-in`: with the component's outputs, the real auth server creates a user (service_role key) and signs
 * it in (anon key); the token carries the current key's kid and verifies with the JWKS auth publishes.
 */
export async function checkSignIn(
  rec: Recorder,
  endpoint: AuthEndpoint,
  outputs: Record<string, unknown>,
): Promise<SignedIn | undefined> {
  const user = { email: `package-${Date.now()}@example.com`, password: `pw-${Date.now().toString(36)}-E2e!` };
  let signedIn: SignedIn | undefined;
  await rec.attempt("package:sign-in", async () => {
    await endpoint.start();
    if (!(await endpoint.awaitHealthy())) throw new Error("auth did not answer /health within 90 s");
    const serviceRoleKey = String(outputs.serviceRoleKey);
    expectStatus(
      await endpoint.request("POST", "/admin/users", {
        token: serviceRoleKey,
        apikey: serviceRoleKey,
        body: { ...user, email_confirm: true },
      }),
      200,
      "POST /admin/users with the component's serviceRoleKey",
    );
    const accessToken = await signIn(endpoint, user, String(outputs.anonKey));
    const kid = await verifiedKid(endpoint, accessToken);
    if (kid !== outputs.currentKid)
      throw new Error(`the token has kid ${kid}, the component's currentKid is ${String(outputs.currentKid)}`);
    signedIn = { ...user, accessToken };
    return `user created with the component's serviceRoleKey, signed in with its anonKey; the token (kid ${kid}, the currentKid output) verifies with auth's JWKS`;
  });
  return signedIn;
}

/**
 * `package:promotion-recreates-only-auth`: the update that promotes the standby key through the consumer's config
 * replaced auth's container and nothing else, and created or deleted nothing.
 */
export function checkPromotionSteps(rec: Recorder, steps: EngineSteps): void {
  const roles = rolesOf(steps.replaced);
  const only = steps.replaced.length === 1 && roles.join() === "auth";
  rec.check(
    "package:promotion-recreates-only-auth",
    only && steps.created.length === 0 && steps.deleted.length === 0,
    `replaced: ${steps.replaced.map((u) => u.slice(u.lastIndexOf("::") + 2)).join(", ") || "nothing"}; ` +
      `created ${steps.created.length}, deleted ${steps.deleted.length}; updated in place: ` +
      `${steps.updated.map((u) => u.slice(u.lastIndexOf("::") + 2)).join(", ") || "nothing"}`,
  );
}

/**
 * `package:promoted-key-signs`: after the promotion a new sign-in carries the promoted key's kid (the new
 * `currentKid`), and the session from before the promotion is still accepted.
 */
export async function checkPromotedKeySigns(
  rec: Recorder,
  endpoint: AuthEndpoint,
  before: SignedIn,
  previousKid: string,
  outputs: Record<string, unknown>,
): Promise<void> {
  await rec.attempt("package:promoted-key-signs", async () => {
    if (!(await endpoint.awaitHealthy())) throw new Error("auth did not answer /health within 90 s");
    const anonKey = String(outputs.anonKey);
    const kid = await verifiedKid(endpoint, await signIn(endpoint, before, anonKey));
    if (kid !== outputs.currentKid || kid === previousKid) {
      throw new Error(`a new token has kid ${kid}; currentKid is ${String(outputs.currentKid)}, before ${previousKid}`);
    }
    expectStatus(
      await endpoint.request("GET", "/user", { token: before.accessToken, apikey: anonKey }),
      200,
      "GET /user with the token from before the promotion",
    );
    return `new tokens carry the promoted key's kid ${kid} (was ${previousKid}); the earlier session is still accepted`;
  });
}
