/**
 * The kong.yml declarative format, typed: the parts of Kong 3.9's DB-less document the gateway writes, and the
 * plugins it uses. Types and constants only; `gateway.ts` assembles a document of them.
 */

/** The declarative format Kong 3.x reads natively (1.1 and 2.1 files get their paths migrated at load). */
export const KONG_FORMAT_VERSION = "3.0";

/** Names of the Kong plugins the document may use. */
export type KongPluginName =
  "cors" | "key-auth" | "acl" | "basic-auth" | "request-transformer" | "request-termination" | "post-function";

/** The plugins the document uses; the kong container's `KONG_PLUGINS` must list them (comma-joined). */
export const KONG_PLUGINS: readonly KongPluginName[] = [
  "request-transformer",
  "cors",
  "key-auth",
  "acl",
  "basic-auth",
  "request-termination",
  "post-function",
];

/** request-transformer's `config` (only the parts we use). Entries are `name:value` strings; `remove` lists names. */
export interface RequestTransformerConfig {
  remove?: { headers?: string[] };
  add?: { headers?: string[]; querystring?: string[] };
  replace?: { headers?: string[]; querystring?: string[] };
}

/** A plugin instance attached to a service. */
export type KongPlugin =
  | { name: "cors" }
  | { name: "key-auth"; config: { hide_credentials: boolean } }
  | { name: "acl"; config: { hide_groups_header: boolean; allow: string[] } }
  | { name: "basic-auth"; config: { hide_credentials: boolean } }
  | { name: "request-transformer"; config: RequestTransformerConfig }
  | { name: "request-termination"; config: { status_code: number; message: string } }
  | { name: "post-function"; config: { access: string[] } };

/**
 * A route: plain prefix paths (format 3.0 treats only `~`-prefixed paths as regexes), or an expression of Kong's
 * expressions router, which wins over every `paths` route it matches.
 */
export type KongRoute =
  { name: string; paths: string[]; strip_path: boolean } | { name: string; expression: string; strip_path: boolean };

/** A service with its routes and plugins. `url` sets protocol, host, port and path at once. */
export interface KongService {
  name: string;
  url: string;
  /** Milliseconds Kong waits between two reads from the upstream (Kong's default: 60000). */
  read_timeout?: number;
  routes: KongRoute[];
  plugins: KongPlugin[];
}

/** A consumer; key-auth credentials are nested, ACL groups are top-level `acls`. */
export interface KongConsumer {
  username: string;
  keyauth_credentials?: { key: string }[];
}

/** A basic-auth credential, top-level like `acls`. */
export interface KongBasicAuthCredential {
  consumer: string;
  username: string;
  password: string;
}

/** The typed kong.yml document. */
export interface KongDeclarativeConfig {
  _format_version: typeof KONG_FORMAT_VERSION;
  _transform: true;
  consumers: KongConsumer[];
  acls: { consumer: string; group: string }[];
  basicauth_credentials?: KongBasicAuthCredential[];
  services: KongService[];
}
