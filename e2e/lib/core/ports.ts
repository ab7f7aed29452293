/**
 * Host ports for the suite's stacks to publish on 127.0.0.1.
 *
 * A port the kernel hands out for `listen(0)` comes from its ephemeral range, and so does every port the Pulumi
 * engine's plugins listen on (the CLI, the language host and each provider serve gRPC on 127.0.0.1 port 0) and every
 * port Docker picks for `-p 127.0.0.1::N`. A port taken from that range and released is free again for any of them,
 * and the engine starts plugins between `pulumi config set` and kong's start, so kong's bind can fail with "address
 * already in use". The suite therefore picks below the ephemeral range, where nothing is handed out unasked, and still
 * checks that each port can be bound.
 */
import * as fs from "node:fs";
import { createServer } from "node:net";

/** Linux's default ephemeral range, for hosts that do not expose theirs. */
const DEFAULT_EPHEMERAL: readonly [number, number] = [32768, 60999];
/** The lowest port the suite picks: above the registered services most hosts run (Postgres 5432, 8000, 8080 …). */
const LOWEST = 10000;
/** How many candidates to try before giving up (each is one bind attempt). */
const ATTEMPTS = 200;

/** The kernel's ephemeral port range, read from the text of `/proc/sys/net/ipv4/ip_local_port_range`. */
export function parseEphemeralRange(text: string | undefined): [number, number] {
  const [low, high] = (text ?? "").trim().split(/\s+/).map(Number);
  if (!Number.isInteger(low) || !Number.isInteger(high) || low < 1 || high < low) return [...DEFAULT_EPHEMERAL];
  return [low, high];
}

/**
 * The ports to pick from: below the ephemeral range when there is room (at least 1000 ports), else above it.
 * Throws when neither side has room.
 */
export function candidateRange([low, high]: readonly [number, number]): [number, number] {
  if (low - 1 - LOWEST >= 1000) return [LOWEST, low - 1];
  if (65535 - (high + 1) >= 1000) return [high + 1, 65535];
  throw new Error(`the ephemeral port range ${low}-${high} leaves no 1000 ports outside it to publish on`);
}

function readEphemeralRange(): [number, number] {
  let text: string | undefined;
  try {
    text = fs.readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8");
  } catch {
    text = undefined;
  }
  return parseEphemeralRange(text);
}

const canBind = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });

/**
 * `count` distinct ports that can be bound on 127.0.0.1 now, outside the kernel's ephemeral range. Tries at most
 * {@link ATTEMPTS} candidates.
 */
export async function freeHostPorts(count: number, range = candidateRange(readEphemeralRange())): Promise<number[]> {
  const [from, to] = range;
  const chosen: number[] = [];
  for (let i = 0; i < ATTEMPTS && chosen.length < count; i++) {
    const port = from + Math.floor(Math.random() * (to - from + 1));
    if (!chosen.includes(port) && (await canBind(port))) chosen.push(port);
  }
  if (chosen.length < count) {
    throw new Error(`found ${chosen.length} of ${count} free ports in ${from}-${to} after ${ATTEMPTS} attempts`);
  }
  return chosen;
}
