/**
 * Pinned container images; override one per stack with the `images` config map.
 *
 * Every tag was read from supabase/supabase at commit 1f37f2a9d82df788cb026dd9d25c4125e26da715 (the newest copy
 * of the self-hosted docker folder found): `docker/docker-compose.yml` for all services but kong, and
 * `docker/docker-compose.kong.yml` (the Kong override of that release, which replaced the Envoy default) for kong.
 */
export const IMAGE_DEFAULTS = {
  db: "supabase/postgres:17.6.1.136",
  auth: "supabase/gotrue:v2.196.0",
  rest: "postgrest/postgrest:v14.17",
  realtime: "supabase/realtime:v2.134.10",
  storage: "supabase/storage-api:v1.74.0",
  kong: "kong/kong:3.9.3",
  studio: "supabase/studio:2026.09.07-sha-7996410",
  meta: "supabase/postgres-meta:v0.99.0",
  imgproxy: "darthsim/imgproxy:v3.31.4",
  pooler: "supabase/supavisor:2.9.12",
  functions: "supabase/edge-runtime:v1.76.2",
} as const;

/** The services whose image can be overridden. */
export type ImageKey = keyof typeof IMAGE_DEFAULTS;
