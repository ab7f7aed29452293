/**
 * The suite's door to the real auth server: a forwarder container that publishes auth's port on 127.0.0.1, one
 * request at a time, and how long auth does not answer while an update recreates it.
 */
import type { DockerNames } from "../deployment";
import { AUTH_HEALTH_PATH, AUTH_PORT } from "../../../../components/services/auth/paths";
import { poll, run } from "../../core/proc";
import { dockerEnv } from "../../engines/docker/engine";

/** An HTTP answer of auth. */
export interface AuthAnswer {
  status: number;
  body: Record<string, unknown>;
}

/** How the suite reaches auth: one request at a time to its base URL, once the door is open. */
export interface AuthDoor {
  /** Opens the door (idempotent) and returns auth's base URL. */
  start(): Promise<string>;
  /** Closes it. */
  stop(): Promise<void>;
  /** Polls `/health` once a second until auth answers 200, `seconds` times at most; whether it did. */
  awaitHealthy(seconds?: number): Promise<boolean>;
  /** One request to auth, 10 s at most; a connection failure is status 0. */
  request(
    method: string,
    path: string,
    options?: { token?: string; apikey?: string; body?: unknown },
  ): Promise<AuthAnswer>;
  readonly base: string;
}

/** One request to auth at `base`, 10 s at most; a connection failure is status 0. */
export async function requestAuth(
  base: string,
  method: string,
  path: string,
  options: { token?: string; apikey?: string; body?: unknown } = {},
): Promise<AuthAnswer> {
  try {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: {
        ...(options.token ? { Authorization: `Bearer ${options.token}` } : {}),
        ...(options.apikey ? { apikey: options.apikey } : {}),
        ...(options.body !== undefined ? { "Content-Type": "application/json" } : {}),
      },
      body: options.body !== undefined ? JSON.stringify(options.body) : undefined,
      signal: AbortSignal.timeout(10_000),
    });
    const text = await response.text();
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      body = { text };
    }
    return { status: response.status, body };
  } catch (err) {
    return { status: 0, body: { error: err instanceof Error ? err.message : String(err) } };
  }
}

/** Polls `/health` once a second until auth answers 200, `seconds` times at most; whether it did. */
export async function awaitAuthHealthy(door: Pick<AuthDoor, "request">, seconds = 90): Promise<boolean> {
  const healthy = await poll(
    async () => ((await door.request("GET", AUTH_HEALTH_PATH)).status === 200 ? true : undefined),
    seconds,
    1000,
  );
  return healthy === true;
}

/** The suite's door to auth: a socat container on the stack network, published on 127.0.0.1 only. */
export class AuthEndpoint implements AuthDoor {
  private port = 0;
  /** The forwarder container; named like the instance's objects so the final cleanup removes it too. */
  private readonly proxyName: string;
  private readonly network: string;

  constructor(
    private readonly host: string,
    private readonly image: string,
    names: DockerNames,
  ) {
    this.proxyName = names.container("e2e-auth-proxy");
    this.network = names.network;
  }

  /** Starts the forwarder (idempotent) and returns auth's base URL on 127.0.0.1. */
  async start(): Promise<string> {
    if (this.port) return this.base;
    const env = dockerEnv(this.host);
    await run("docker", ["rm", "-f", this.proxyName], { env, allowFailure: true, timeoutSeconds: 60 });
    await run(
      "docker",
      [
        "run",
        "-d",
        "--name",
        this.proxyName,
        "--network",
        this.network,
        "-p",
        `127.0.0.1::${AUTH_PORT}`,
        this.image,
        `TCP-LISTEN:${AUTH_PORT},fork,reuseaddr`,
        `TCP:auth:${AUTH_PORT}`,
      ],
      { env, timeoutSeconds: 60 },
    );
    const mapped = (
      await run("docker", ["port", this.proxyName, `${AUTH_PORT}/tcp`], { env, timeoutSeconds: 30 })
    ).stdout.trim();
    this.port = Number(/127\.0\.0\.1:(\d+)/.exec(mapped)?.[1]);
    if (!this.port) throw new Error(`the auth forwarder published no 127.0.0.1 port (docker port: ${mapped})`);
    return this.base;
  }

  /** Removes the forwarder (it must leave the network before `pulumi destroy` can delete it). */
  async stop(): Promise<void> {
    this.port = 0;
    await run("docker", ["rm", "-f", this.proxyName], {
      env: dockerEnv(this.host),
      allowFailure: true,
      timeoutSeconds: 60,
    });
  }

  /** Polls `/health` once a second until auth answers 200, `seconds` times at most; whether it did. */
  awaitHealthy(seconds = 90): Promise<boolean> {
    return awaitAuthHealthy(this, seconds);
  }

  /** auth's base URL on 127.0.0.1 (once the forwarder runs). */
  get base(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** One request to auth, 10 s at most; a connection failure is status 0. */
  request(
    method: string,
    path: string,
    options: { token?: string; apikey?: string; body?: unknown } = {},
  ): Promise<AuthAnswer> {
    return requestAuth(this.base, method, path, options);
  }
}

/** Fails with auth's own words when the answer is not the expected status. */
export function expectStatus(answer: AuthAnswer, status: number, what: string): AuthAnswer {
  if (answer.status !== status)
    throw new Error(`${what}: auth answered ${answer.status} ${JSON.stringify(answer.body).slice(0, 300)}`);
  return answer;
}

/**
 * Polls `/health` at a bounded rate while `during` runs (a `pulumi up`) and returns how long auth did not answer
 * 200: the longest gap and the total, in seconds.
 */
export async function measureAvailability<T>(
  endpoint: AuthDoor,
  during: Promise<T>,
): Promise<{ result: T; longestGap: number; downSeconds: number; probes: number }> {
  let done = false;
  const settled = during.finally(() => {
    done = true;
  });
  let probes = 0;
  let downSince: number | undefined;
  let longestGap = 0;
  let downSeconds = 0;
  let last = performance.now();
  // 4 probes a second for at most 30 minutes: bounded in count and time.
  for (let i = 0; i < 4 * 60 * 30 && !done; i++) {
    const t = performance.now();
    const ok = (await endpoint.request("GET", AUTH_HEALTH_PATH)).status === 200;
    probes++;
    const now = performance.now();
    if (!ok) {
      downSince ??= t;
      downSeconds += (now - last) / 1000;
      longestGap = Math.max(longestGap, (now - downSince) / 1000);
    } else downSince = undefined;
    last = now;
    await new Promise((r) => setTimeout(r, 250));
  }
  const result = await settled;
  return {
    result,
    longestGap: Math.round(longestGap * 10) / 10,
    downSeconds: Math.round(downSeconds * 10) / 10,
    probes,
  };
}
