// Self-hosted Supabase with asymmetric JWT signing keys: config → keyring → containers → outputs.
import { supabaseProgram } from "./components/program";

const { config, keyring, stack } = supabaseProgram();

export const apiUrl = config.apiExternalUrl;
export const jwksUrl = `${config.apiExternalUrl}/auth/v1/.well-known/jwks.json`;
export const currentKid = keyring.currentKid;
export const jwks = keyring.publicJwks.apply((set) => JSON.stringify(set));
export const publishableKey = keyring.publishableKey;
export const secretKey = keyring.secretKey;
export const anonKey = keyring.anonKey;
export const serviceRoleKey = keyring.serviceRoleKey;
export const legacyAnonKey = keyring.legacyAnonKey;
export const legacyServiceRoleKey = keyring.legacyServiceRoleKey;
// The dashboard (studio, behind kong's basic-auth at apiUrl) exists only with `studio: true`.
export const dashboardUsername = config.studio ? config.dashboardUsername : undefined;
export const dashboardPassword = stack.dashboardPassword;
