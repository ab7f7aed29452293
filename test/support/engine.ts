/**
 * A small stand-in for the Pulumi engine under `pulumi.runtime.setMocks`: it keeps resource state between
 * program runs (like a stack's state file) and drives our dynamic provider's real `create`/`diff`/`update`,
 * so a test can run "pulumi up" several times with changing config and compare what changed.
 */
import * as pulumi from "@pulumi/pulumi";
import { createHash, randomBytes } from "node:crypto";
import { canonicalJson, PROJECT } from "../../components/config";
import { signingKeyProvider } from "../../components/signingKey";
import { checkRotationGuard, rotationGuardProvider } from "../../components/rotationGuard";

const SECRET_SIG = "4dabf18193072939515e22adb298388d";

/** Removes the mocks' secret wrappers, as the real dynamic-provider host hands `create` plain values. */
export function unwrapSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(unwrapSecrets);
  if (value && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    if (obj[SECRET_SIG] !== undefined && "value" in obj) return unwrapSecrets(obj.value);
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, unwrapSecrets(v)]));
  }
  return value;
}

/** One resource as the simulated engine keeps it. */
export interface StoredResource {
  type: string;
  name: string;
  id: string;
  inputs: Record<string, unknown>;
  state: Record<string, unknown>;
}

/** Names of the top-level inputs that reached the engine as secrets (wrapped), e.g. `["envs", "uploads"]`. */
export function secretInputNames(rawInputs: Record<string, unknown>): string[] {
  return Object.entries(rawInputs)
    .filter(([, v]) => v !== null && typeof v === "object" && (v as Record<string, unknown>)[SECRET_SIG] !== undefined)
    .map(([k]) => k)
    .sort();
}

/** Resource options as the engine receives them with a registration (only those tests look at). */
export interface RegisteredOptions {
  parent: string;
  /** URNs of the resources this one depends on (`dependsOn`, parent excluded). */
  dependencies: string[];
  retainOnDelete?: boolean;
  replaceOnChanges: string[];
  deleteBeforeReplace: boolean;
}

/** What a resource did during one run. */
export type Operation = "create" | "update" | "replace" | "same";

/** Computes a custom resource's state from its inputs; `previous` is its stored state, if any. */
export type ResourceHandler = (
  args: pulumi.runtime.MockResourceArgs,
  inputs: Record<string, unknown>,
  previous: StoredResource | undefined,
) => Promise<{
  id: string;
  state: Record<string, unknown>;
  operation: Operation;
  /** The inputs the engine stores, when the provider's `check` rewrote them (the real engine keeps checked inputs). */
  inputs?: Record<string, unknown>;
}>;

const BASE64URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** Random results for `@pulumi/random` resources, kept while their inputs stay the same. */
const randomHandler: ResourceHandler = async (args, inputs, previous) => {
  if (previous && canonicalJson(previous.inputs) === canonicalJson(inputs)) {
    return { id: previous.id, state: previous.state, operation: "same" };
  }
  const length = Number(inputs.length ?? 16);
  const special = inputs.special === false ? "" : String(inputs.overrideSpecial ?? "!@#$%&*()-_=+[]{}<>:?");
  const alphabet = BASE64URL_ALPHABET + special;
  const bytes = randomBytes(length);
  const result = Array.from(bytes, (b) => alphabet[b % alphabet.length]).join("");
  return {
    id: args.name,
    state: { ...inputs, result, ...(args.type.endsWith("RandomPassword") ? { bcryptHash: "mock" } : {}) },
    operation: previous ? "replace" : "create",
  };
};

/** Our SigningKey resources, through the real provider's diff, create and update. */
const signingKeyHandler: ResourceHandler = async (_args, inputs, previous) => {
  if (!previous) {
    const { id, outs } = await signingKeyProvider.create(inputs);
    return { id, state: outs, operation: "create" };
  }
  const diff = await signingKeyProvider.diff!(previous.id, previous.state, inputs);
  if (diff.replaces && diff.replaces.length > 0) {
    const { id, outs } = await signingKeyProvider.create(inputs);
    return { id, state: outs, operation: "replace" };
  }
  if (diff.changes) {
    const { outs } = await signingKeyProvider.update!(previous.id, previous.state, inputs);
    return { id: previous.id, state: outs as Record<string, unknown>, operation: "update" };
  }
  return { id: previous.id, state: previous.state, operation: "same" };
};

/** Anything else (docker resources): state = inputs, plus a few computed outputs real providers return. */
const passthroughHandler: ResourceHandler = async (args, inputs, previous) => {
  const computed: Record<string, unknown> = {};
  if (args.type === "docker:index/remoteImage:RemoteImage") {
    computed.imageId = `sha256:${createHash("sha256").update(String(inputs.name)).digest("hex")}`;
    computed.repoDigest = `${inputs.name}@${computed.imageId}`;
  }
  if (args.type === "docker:index/network:Network" || args.type === "docker:index/volume:Volume") {
    computed.name = inputs.name ?? args.name;
  }
  const state = { ...inputs, ...computed };
  const same = previous && canonicalJson(previous.state) === canonicalJson(state);
  return { id: previous?.id ?? `${args.name}-id`, state, operation: previous ? (same ? "same" : "update") : "create" };
};

/**
 * A mock engine that remembers state across runs. Use `run()` for each simulated `pulumi up`.
 * `handlers` may override how a resource type's state is computed.
 */
export class MockEngine implements pulumi.runtime.Mocks {
  /** State by resource name, surviving between runs (the stack's state file). */
  readonly stack = new Map<string, StoredResource>();
  /** Resources registered during the latest run, in order, with what happened to each. */
  registered: Array<StoredResource & { operation: Operation; secretInputs?: string[] }> = [];
  /** Options of every resource registered during the latest run, by resource name. */
  options = new Map<string, RegisteredOptions>();
  private readonly handlers: Record<string, ResourceHandler>;

  /**
   * The simulated wall clock the RotationGuard's check sees. Each run after the first happens
   * `secondsBetweenRuns` later (default one day, so a test walking the rotation runbook waits as an operator
   * would); set it, or move `clock`, to test the guard's waiting periods.
   */
  clock = new Date();
  secondsBetweenRuns = 86_400;
  private runs = 0;

  constructor(handlers: Record<string, ResourceHandler> = {}) {
    this.handlers = handlers;
  }

  /**
   * Our RotationGuard: the real provider's `check` against the stored (checked) inputs, at the simulated clock;
   * failures fail the run the way the engine fails a preview, with the engine's wording. Then diff/create/update.
   */
  private readonly rotationGuardHandler: ResourceHandler = async (args, inputs, previous) => {
    const provider = rotationGuardProvider as Required<pulumi.dynamic.ResourceProvider>;
    const { inputs: checked, failures } = checkRotationGuard(previous?.inputs ?? {}, inputs, this.clock);
    if (failures.length > 0) {
      throw new Error(
        failures.map((f) => `${args.type} resource '${args.name}' has a problem: ${f.reason}`).join("\n"),
      );
    }
    if (!previous) {
      const { id, outs } = await provider.create(checked);
      return { id, state: outs, operation: "create", inputs: checked };
    }
    const diff = await provider.diff(previous.id, previous.state, checked);
    if (diff.changes) {
      const { outs } = await provider.update(previous.id, previous.state, checked);
      return { id: previous.id, state: outs as Record<string, unknown>, operation: "update", inputs: checked };
    }
    return { id: previous.id, state: previous.state, operation: "same", inputs: checked };
  };

  private handlerFor(type: string): ResourceHandler {
    if (this.handlers[type]) return this.handlers[type];
    if (type.startsWith("pulumi-nodejs:dynamic/supabase-selfhosted:SigningKey")) return signingKeyHandler;
    if (type.startsWith("pulumi-nodejs:dynamic/supabase-selfhosted:RotationGuard")) return this.rotationGuardHandler;
    if (type.startsWith("random:")) return randomHandler;
    return passthroughHandler;
  }

  async newResource(args: pulumi.runtime.MockResourceArgs): Promise<{ id: string; state: Record<string, unknown> }> {
    const inputs = unwrapSecrets(args.inputs) as Record<string, unknown>;
    delete inputs.__provider; // the serialized provider text: not part of any resource's identity here
    const previous = this.stack.get(args.name);
    const { id, state, operation, inputs: checked } = await this.handlerFor(args.type)(args, inputs, previous);
    const stored: StoredResource = { type: args.type, name: args.name, id, inputs: checked ?? inputs, state };
    this.registered.push({
      ...stored,
      operation,
      secretInputs: secretInputNames(args.inputs as Record<string, unknown>),
    });
    return { id, state };
  }

  /** Wraps the mock monitor so each registration's options are kept (mocks' newResource never sees them). */
  private recordOptions(): void {
    this.options = new Map();
    const settings = require("@pulumi/pulumi/runtime/settings") as { getMonitor(): any };
    const monitor = settings.getMonitor();
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req: any, callback: unknown) => {
      this.options.set(req.getName(), {
        parent: req.getParent(),
        dependencies: req.getDependenciesList(),
        ...(req.hasRetainondelete() ? { retainOnDelete: req.getRetainondelete() } : {}),
        replaceOnChanges: req.getReplaceonchangesList(),
        deleteBeforeReplace: req.getDeletebeforereplace(),
      });
      return register(req, callback);
    };
  }

  call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
    return args.inputs;
  }

  /**
   * Runs one simulated update: sets config (values are JSON-encoded unless already strings), installs these
   * mocks, runs `program`, waits for its outputs, then commits state. Resources not registered this run are
   * dropped from the stack, like `pulumi up` deletes them.
   */
  async run<T>(
    config: Record<string, unknown>,
    program: () => T,
    options: { secretKeys?: string[]; preview?: boolean } = {},
  ): Promise<{
    result: Awaited<T>;
    registered: Array<StoredResource & { operation: Operation; secretInputs?: string[] }>;
  }> {
    const all: Record<string, string> = {};
    for (const [k, v] of Object.entries(config)) {
      if (v !== undefined) all[`${PROJECT}:${k}`] = typeof v === "string" ? v : JSON.stringify(v);
    }
    pulumi.runtime.setAllConfig(
      all,
      (options.secretKeys ?? []).map((k) => `${PROJECT}:${k}`),
    );
    this.registered = [];
    if (this.runs++ > 0) this.clock = new Date(this.clock.getTime() + this.secondsBetweenRuns * 1000);
    await pulumi.runtime.setMocks(this, PROJECT, "test", options.preview ?? false);
    this.recordOptions();
    const result = await failLikeTheEngine(async () => {
      // A program may be async (e.g. `() => import("../index")`): its resources register while it is awaited.
      const value = await program();
      await settle(value);
      return value;
    });
    if (!options.preview) {
      this.stack.clear();
      for (const r of this.registered)
        this.stack.set(r.name, { type: r.type, name: r.name, id: r.id, inputs: r.inputs, state: r.state });
    }
    return { result, registered: this.registered };
  }
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
  // Wait for every outstanding resource registration, as the real runtime does before it exits.
  // (waitForRPCs is internal to the SDK: not in its typings.)
  const settings = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs(): Promise<void> };
  await settings.waitForRPCs();
}

/** The resolved value of an output (undefined when unknown). */
export async function valueOf<T>(output: pulumi.Output<T> | pulumi.Input<T>): Promise<T> {
  if (pulumi.Output.isInstance(output)) {
    return (output as unknown as { promise(): Promise<T> }).promise();
  }
  return output as T;
}

/** True when `output` carries the secret bit. */
export async function isSecret(output: unknown): Promise<boolean> {
  return pulumi.Output.isInstance(output) ? pulumi.isSecret(output) : false;
}
