/**
 * Pinned container images. Every tag here was read from an upstream Supabase compose file (see the README's
 * "Images" section for where each was confirmed); override one per stack with the `images` config map.
 */
export const IMAGE_DEFAULTS = {
  db: "supabase/postgres:17.6.1.136",
  auth: "supabase/gotrue:v2.196.0",
  rest: "postgrest/postgrest:v14.17",
  realtime: "supabase/realtime:v2.134.10",
  storage: "supabase/storage-api:v1.74.0",
  kong: "kong/kong:3.9.1",
  studio: "supabase/studio:2026.09.07-sha-7996410",
  meta: "supabase/postgres-meta:v0.99.0",
} as const;

/** The services whose image can be overridden. */
export type ImageKey = keyof typeof IMAGE_DEFAULTS;
