/**
 * Who the gateway lets in: one consumer per API role holding every key of that role as a key-auth credential, the
 * ACL group each role is in, and the dashboard's basic-auth login.
 */
import type { KongBasicAuthCredential, KongDeclarativeConfig } from "./format";
import type { KongInput } from "./input";

/** Consumer names: one per API role, plus the dashboard's basic-auth user. */
export const CONSUMERS = { anon: "anon", serviceRole: "service_role", dashboard: "DASHBOARD" } as const;
/** ACL groups: `anon` for the publishable side, `admin` for service_role (the only group `/pg/` allows). */
export const ACL_GROUPS = { anon: "anon", admin: "admin" } as const;

/** Credentials in order, each once (Kong rejects a duplicate key-auth key). */
function credentials(keys: string[]): { key: string }[] {
  return [...new Set(keys)].map((key) => ({ key }));
}

/**
 * The document's consumers and their ACL groups: `anon` accepts every active publishable key and every anon JWT,
 * `service_role` every active secret key and every service_role JWT; with studio, the dashboard's consumer too.
 */
export function kongConsumers(input: KongInput): Pick<KongDeclarativeConfig, "consumers" | "acls"> {
  return {
    consumers: [
      {
        username: CONSUMERS.anon,
        keyauth_credentials: credentials([...input.apiKeys.publishable, ...input.gatewayTokens.anon]),
      },
      {
        username: CONSUMERS.serviceRole,
        keyauth_credentials: credentials([...input.apiKeys.secret, ...input.gatewayTokens.serviceRole]),
      },
      ...(input.studio ? [{ username: CONSUMERS.dashboard }] : []),
    ],
    acls: [
      { consumer: CONSUMERS.anon, group: ACL_GROUPS.anon },
      { consumer: CONSUMERS.serviceRole, group: ACL_GROUPS.admin },
    ],
  };
}

/** The dashboard's basic-auth login, for the dashboard consumer `kongConsumers` adds with studio. */
export function dashboardCredentials(input: KongInput): KongBasicAuthCredential[] {
  return [{ consumer: CONSUMERS.dashboard, username: input.dashboard.username, password: input.dashboard.password }];
}
