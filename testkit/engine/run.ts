/**
 * One simulated `pulumi up` (or preview) of a program under `pulumi.runtime.setMocks`: the stack config as the
 * engine hands it to a program, the registrations' options, and the way the language host fails a run.
 */
import * as pulumi from "@pulumi/pulumi";
import { PROJECT } from "../../components/schema/project";
import { recordRegistrations, valueOf, waitForRegistrations, type RegisteredOptions } from "./sdk";

/** Options of {@link runUnderMocks}. */
export interface RunOptions {
  /** Config keys (without the namespace) whose values are secrets. */
  secretKeys?: string[];
  /** Run as a preview (outputs of new resources stay unknown). */
  preview?: boolean;
}

/**
 * Sets the config (values are JSON-encoded unless already strings, as the engine passes them), installs `mocks`,
 * runs `program`, and waits for its outputs and every registration.
 * @returns the program's result and each registration's options by resource name.
 */
export async function runUnderMocks<T>(
  mocks: pulumi.runtime.Mocks,
  config: Record<string, unknown>,
  program: () => T,
  options: RunOptions = {},
): Promise<{ result: Awaited<T>; options: Map<string, RegisteredOptions> }> {
  const all: Record<string, string> = {};
  for (const [k, v] of Object.entries(config)) {
    if (v !== undefined) all[`${PROJECT}:${k}`] = typeof v === "string" ? v : JSON.stringify(v);
  }
  pulumi.runtime.setAllConfig(
    all,
    (options.secretKeys ?? []).map((k) => `${PROJECT}:${k}`),
  );
  await pulumi.runtime.setMocks(mocks, PROJECT, "test", options.preview ?? false);
  const registered = new Map<string, RegisteredOptions>();
  recordRegistrations(registered);
  const result = await failLikeTheEngine(async () => {
    // A program may be async (e.g. `() => import("../index")`): its resources register while it is awaited.
    const value = await program();
    await settle(value);
    return value;
  });
  return { result, options: registered };
}

/**
 * Runs a program the way the Node language host does when a resource fails (e.g. a provider's check): the first
 * error fails the run, and the rejections of the failed resource's other outputs are reported once, here, instead
 * of escaping as unhandled rejections into the test runner.
 */
async function failLikeTheEngine<T>(work: () => Promise<T>): Promise<T> {
  const rejections: unknown[] = [];
  const saved = process.listeners("unhandledRejection");
  const collect = (reason: unknown) => void rejections.push(reason);
  process.removeAllListeners("unhandledRejection");
  process.on("unhandledRejection", collect);
  let failure: { error: unknown } | undefined;
  let value: T | undefined;
  try {
    value = await work();
  } catch (error) {
    failure = { error };
  }
  try {
    // The failed registration's other promise chains reject over the next turns of the event loop.
    if (failure || rejections.length > 0) for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  } finally {
    process.removeListener("unhandledRejection", collect);
    for (const listener of saved) process.on("unhandledRejection", listener);
  }
  if (failure) throw failure.error;
  if (rejections.length > 0) throw rejections[0];
  return value as T;
}

/** Waits until every output reachable from `value` (one level of object properties, or an array) resolves. */
async function settle(value: unknown): Promise<void> {
  const pending: Promise<unknown>[] = [];
  const visit = (v: unknown) => {
    if (pulumi.Output.isInstance(v)) pending.push(valueOf(v));
  };
  if (value && typeof value === "object") {
    for (const v of Object.values(value as Record<string, unknown>)) visit(v);
  }
  visit(value);
  await Promise.all(pending);
  await waitForRegistrations();
}

/** True when `output` carries the secret bit. */
export async function isSecret(output: unknown): Promise<boolean> {
  return pulumi.Output.isInstance(output) ? pulumi.isSecret(output) : false;
}
