/**
 * The official client, @supabase/supabase-js, as an app would create it, pointed at the stack's gateway: every
 * request it sends is bounded in time and logged (method and path), so a check can say which endpoints a call
 * reached, e.g. that `getClaims()` fetched the JWKS and did not fall back to `/auth/v1/user`.
 */
import { createClient, type SupabaseClient, type WebSocketLikeConstructor } from "@supabase/supabase-js";

/** How long one HTTP request of supabase-js may take. */
const REQUEST_TIMEOUT_MS = 10_000;

/** supabase-js with the requests it sent. */
export interface GatewayClient {
  client: SupabaseClient;
  /** `METHOD /path` of every request so far, in order (the query string left out). */
  requests: string[];
}

/**
 * The realtime transport supabase-js gets: none. On Node 20 `createClient` needs a WebSocket constructor up front
 * and Node 20 has no global one (supabase/supabase-js `packages/core/realtime-js/src/lib/websocket-factory.ts`).
 * The suite's realtime is a stand-in, so no check uses realtime, and this one refuses to connect.
 */
class NoRealtime {
  constructor() {
    throw new Error("the suite's realtime is a stand-in: the supabase-js checks do not use realtime");
  }
}

/** `fetch` bounded to {@link REQUEST_TIMEOUT_MS} (and the caller's own signal), logging `METHOD /path`. */
function loggingFetch(requests: string[]): typeof fetch {
  return (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    requests.push(`${init?.method ?? (input instanceof Request ? input.method : "GET")} ${url.pathname}`);
    const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
    return fetch(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, timeout]) : timeout });
  };
}

/**
 * supabase-js on the gateway at `url` with `key` (the publishable key), as a server-side app would create it: no
 * session persistence, no background refresh (each check refreshes explicitly), its own storage key per run, so
 * the JWKS cache auth-js keeps per storage key is not shared between algorithms.
 */
export function gatewayClient(url: string, key: string, storageKey: string): GatewayClient {
  const requests: string[] = [];
  const client = createClient(url, key, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false, storageKey },
    global: { fetch: loggingFetch(requests) },
    realtime: { transport: NoRealtime as unknown as WebSocketLikeConstructor },
  });
  return { client, requests };
}

/** `promise`, or a failure after `seconds`: no check waits on supabase-js without an end. */
export function within<T>(seconds: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${seconds} s`)), seconds * 1000);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}
