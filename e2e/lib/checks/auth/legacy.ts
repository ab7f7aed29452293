/**
 * Migration from an HS256 deployment, judged by the real auth server: a user token signed with the old
 * deployment's `jwtSecret` (what its users hold) is accepted while `legacyHs256` is on, and rejected once it is off.
 */
import { SignJWT } from "jose";
import type { Recorder } from "../../core/report";
import type { AuthDoor } from "./endpoint";

/** A legacy HS256 user token, as an old deployment's auth issued them (no kid), signed with `secret`. */
export async function legacyUserToken(secret: string, userId: string, email: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ sub: userId, email, role: "authenticated", aud: "authenticated", aal: "aal1" })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuedAt(now)
    .setExpirationTime(now + 3600)
    .sign(new TextEncoder().encode(secret));
}

/** Creates a user with the service_role key and returns a legacy HS256 token for them, signed with `secret`. */
export async function legacyTokenForNewUser(
  endpoint: AuthDoor,
  secret: string,
  serviceRoleKey: string,
): Promise<string> {
  const email = `legacy-${Date.now()}@example.com`;
  const created = await endpoint.request("POST", "/admin/users", {
    token: serviceRoleKey,
    apikey: serviceRoleKey,
    body: { email, password: `pw-${Date.now()}-Legacy!`, email_confirm: true },
  });
  if (created.status !== 200)
    throw new Error(`POST /admin/users answered ${created.status} ${JSON.stringify(created.body).slice(0, 200)}`);
  return legacyUserToken(secret, String(created.body.id), email);
}

/** `auth:legacy-hs256-accepted`: with `legacyHs256` on, `GET /user` accepts the HS256 token. */
export async function checkLegacyTokenAccepted(
  rec: Recorder,
  endpoint: AuthDoor,
  token: string,
  anonKey: string,
): Promise<void> {
  await rec.attempt("auth:legacy-hs256-accepted", async () => {
    const answer = await endpoint.request("GET", "/user", { token, apikey: anonKey });
    if (answer.status !== 200)
      throw new Error(
        `GET /user with the HS256 token answered ${answer.status} ${JSON.stringify(answer.body).slice(0, 200)}`,
      );
    return "an HS256 user token without kid, signed with the imported jwtSecret, is accepted by GET /user";
  });
}

/** `auth:legacy-hs256-rejected-after-off`: with `legacyHs256` off, `GET /user` rejects the HS256 token. */
export async function checkLegacyTokenRejected(
  rec: Recorder,
  endpoint: AuthDoor,
  token: string,
  anonKey: string,
): Promise<void> {
  await rec.attempt("auth:legacy-hs256-rejected-after-off", async () => {
    const answer = await endpoint.request("GET", "/user", { token, apikey: anonKey });
    if (answer.status !== 401 && answer.status !== 403)
      throw new Error(`GET /user with the HS256 token answered ${answer.status} after legacyHs256 was turned off`);
    return `rejected: ${answer.status} ${String(answer.body.msg ?? answer.body.message ?? "")}`;
  });
}
