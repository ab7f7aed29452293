/**
 * auth's own HTTP paths, which the gateway routes and the suite calls (supabase/auth `internal/api/api.go`). Apart
 * from `auth.ts` so the gateway's route table can import them without importing the service.
 */

/** The port auth listens on inside the stack network. */
export const AUTH_PORT = 9999;

/** Where auth publishes the public JWKS. */
export const AUTH_JWKS_PATH = "/.well-known/jwks.json";

/** auth's health endpoint (its container health check, and the gateway's open route). */
export const AUTH_HEALTH_PATH = "/health";
