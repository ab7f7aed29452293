/**
 * A steady stream of requests while an update runs, counting the ones that fail: what a client of the service
 * would have seen during the update. Requests are sent at a fixed rate whether or not earlier ones have answered
 * (a slow answer does not slow the stream down), each on a new connection (so each is routed afresh, as a new
 * client's would be, and none fails only because a kept-alive connection to a stopped server was reused), each
 * bounded to 5 s; the whole probe is bounded to 30 minutes.
 */
import * as http from "node:http";
import { AUTH_HEALTH_PATH } from "../../../components/services/auth/paths";
import type { Recorder, StepTarget } from "../core/report";

/** One kind of request the probe sends, in turn with the others. */
export interface ProbeRequest {
  /** Names it in failure details (`/health`, `GET /user`). */
  label: string;
  url: string;
  headers?: Record<string, string>;
}

/** What the probe saw. */
export interface ProbeTally {
  requests: number;
  failures: number;
  /** How long it ran, and the rate it reached. */
  seconds: number;
  perSecond: number;
  /** The first distinct failures (label: status or error). */
  examples: string[];
}

/** Requests per second the probes send: at least the 20 a second the suite promises. */
export const PROBE_RATE = 25;
const REQUEST_TIMEOUT_MS = 5000;
const MAX_SECONDS = 30 * 60;
const MAX_IN_FLIGHT = 200;

/** One GET on a new connection: its status, or 0 with the error. */
function getOnce(request: ProbeRequest): Promise<{ status: number; error?: string }> {
  return new Promise((resolve) => {
    const req = http.get(
      request.url,
      { agent: false, headers: { Connection: "close", ...request.headers }, timeout: REQUEST_TIMEOUT_MS },
      (res) => {
        res.resume();
        res.on("end", () => resolve({ status: res.statusCode ?? 0 }));
        res.on("error", (err) => resolve({ status: 0, error: err.message }));
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
    req.on("error", (err) => resolve({ status: 0, error: err.message }));
  });
}

/**
 * Sends `requests` in turn at `perSecond` from the start until `during` settles, then waits for the answers still
 * due. A request fails unless it is answered 200.
 */
export async function probeDuring<T>(
  during: Promise<T>,
  requests: ProbeRequest[],
  perSecond = PROBE_RATE,
): Promise<{ result: T; tally: ProbeTally }> {
  let done = false;
  const settled = during.finally(() => {
    done = true;
  });
  settled.catch(() => undefined);
  const tally: ProbeTally = { requests: 0, failures: 0, seconds: 0, perSecond: 0, examples: [] };
  const inFlight = new Set<Promise<void>>();
  const t0 = performance.now();
  const interval = 1000 / perSecond;
  for (let i = 0; !done && i < perSecond * MAX_SECONDS; i++) {
    // Scheduled from the start, so the rate holds whatever each iteration costs.
    const wait = t0 + i * interval - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    if (done) break;
    if (inFlight.size >= MAX_IN_FLIGHT) {
      tally.requests++;
      tally.failures++;
      if (tally.examples.length < 5) tally.examples.push(`${MAX_IN_FLIGHT} requests unanswered at once`);
      continue;
    }
    const request = requests[i % requests.length];
    tally.requests++;
    const sent: Promise<void> = getOnce(request).then(({ status, error }) => {
      inFlight.delete(sent);
      if (status === 200) return;
      tally.failures++;
      const example = `${request.label}: ${error ?? status}`;
      if (tally.examples.length < 5 && !tally.examples.includes(example)) tally.examples.push(example);
    });
    inFlight.add(sent);
  }
  await Promise.all(inFlight);
  tally.seconds = Math.round((performance.now() - t0) / 100) / 10;
  tally.perSecond = tally.seconds > 0 ? Math.round((tally.requests / tally.seconds) * 10) / 10 : 0;
  return { result: await settled, tally };
}

/** A tally as a check's detail. */
export function describeTally(t: ProbeTally): string {
  return (
    `${t.requests} requests in ${t.seconds} s (${t.perSecond}/s), ${t.failures} failed` +
    (t.examples.length ? `: ${t.examples.join("; ")}` : "")
  );
}

/** The probe's requests to auth at `base`: `/health`, and `GET /user` as a signed-in user when there is a token. */
export function authProbeRequests(base: string, token: string | undefined): ProbeRequest[] {
  return [
    { label: "/health", url: `${base}${AUTH_HEALTH_PATH}` },
    ...(token ? [{ label: "GET /user", url: `${base}/user`, headers: { Authorization: `Bearer ${token}` } }] : []),
  ];
}

/**
 * Records what a probe saw during one step's update on `target`: the metrics `requestsDuringUpdate:<target>:…` and
 * `failedRequestsDuringUpdate:<target>:…`, and a check. On Kubernetes, where a key step is a rolling update, the
 * check `k8s:zero-failed-requests:<step>:<algorithm>` passes only when none failed; on Docker, where the step
 * recreates auth's container, `docker:failed-requests:<step>:<algorithm>` records the figure beside it.
 */
export function recordProbe(
  rec: Recorder,
  metrics: Record<string, number>,
  where: { target: StepTarget; step: string; algorithm: string },
  tally: ProbeTally,
): void {
  const at = `${where.step.split(" ")[0]}:${where.algorithm}`;
  metrics[`requestsDuringUpdate:${where.target}:${at}`] = tally.requests;
  metrics[`failedRequestsDuringUpdate:${where.target}:${at}`] = tally.failures;
  if (where.target === "kubernetes") {
    rec.check(`k8s:zero-failed-requests:${at}`, tally.failures === 0 && tally.perSecond >= 20, describeTally(tally));
  } else rec.check(`docker:failed-requests:${at}`, true, `${describeTally(tally)} (auth's container is recreated)`);
}
