/**
 * A stateful stand-in for the Pulumi engine under `pulumi.runtime.setMocks`: it keeps resource state between
 * program runs (like a stack's state file) and drives our dynamic providers' real `check`/`diff`/`update`, so a
 * caller can run "pulumi up" several times with changing config and see what changed. For a single run that
 * only looks at what is declared, `test/support/shapes.ts` is the smaller tool.
 */
import * as pulumi from "@pulumi/pulumi";
import { canonicalJson } from "../../components/keyring/model";
import { rotationGuardProvider } from "../../components/keyring/rotationGuard";
import { signingKeyProvider } from "../../components/keyring/signingKey";
import { checkGuard, create, dockerState, isRotationGuard, isSigningKey, type Created } from "./resources";
import { runUnderMocks, type RunOptions } from "./run";
import { providerInputs, secretInputNames, type RegisteredOptions } from "./sdk";

/** One resource as the simulated engine keeps it. */
export interface StoredResource {
  type: string;
  name: string;
  id: string;
  inputs: Record<string, unknown>;
  state: Record<string, unknown>;
}

/** What a resource did during one run. */
export type Operation = "create" | "update" | "replace" | "same";

/** A resource registered during a run, with what happened to it and which inputs reached the engine as secrets. */
export type Registered = StoredResource & { operation: Operation; secretInputs: string[] };

/** A mock engine that remembers state across runs. Use `run()` for each simulated `pulumi up`. */
export class MockEngine implements pulumi.runtime.Mocks {
  /** State by resource name, surviving between runs (the stack's state file). */
  readonly stack = new Map<string, StoredResource>();
  /** Resources registered during the latest run, in order, with what happened to each. */
  registered: Registered[] = [];
  /** Options of every resource registered during the latest run, by resource name. */
  options = new Map<string, RegisteredOptions>();

  /**
   * The simulated wall clock the RotationGuard's check sees. Each run after the first happens
   * `secondsBetweenRuns` later (default one day, so a test walking the rotation runbook waits as an operator
   * would); set it, or move `clock`, to test the guard's waiting periods.
   */
  clock = new Date();
  secondsBetweenRuns = 86_400;
  /**
   * Milliseconds the clock moves before each create (default 0: every resource of a run is created at the same
   * instant). Set it to see creation times in the order the engine creates resources, as a real engine's would be.
   */
  msPerCreate = 0;
  private runs = 0;

  async newResource(args: pulumi.runtime.MockResourceArgs): Promise<{ id: string; state: Record<string, unknown> }> {
    const inputs = providerInputs(args.inputs);
    const previous = this.stack.get(args.name);
    const {
      id,
      state,
      inputs: checked,
      operation,
    } = previous
      ? await this.change(args, inputs, previous)
      : { ...(await create(args, inputs, this.tick())), operation: "create" as const };
    const stored: StoredResource = { type: args.type, name: args.name, id, inputs: checked ?? inputs, state };
    this.registered.push({ ...stored, operation, secretInputs: secretInputNames(args.inputs) });
    return { id, state };
  }

  /** A resource that exists: what the real provider's diff (and update or replacement) makes of new inputs. */
  private async change(
    args: pulumi.runtime.MockResourceArgs,
    inputs: Record<string, unknown>,
    previous: StoredResource,
  ): Promise<Created & { operation: Operation }> {
    const same = { id: previous.id, state: previous.state };
    if (isSigningKey(args.type)) {
      const diff = await signingKeyProvider.diff!(previous.id, previous.state, inputs);
      if (diff.replaces && diff.replaces.length > 0)
        return { ...(await create(args, inputs, this.clock)), operation: "replace" };
      if (!diff.changes) return { ...same, operation: "same" };
      const { outs } = await signingKeyProvider.update!(previous.id, previous.state, inputs);
      return { id: previous.id, state: outs as Record<string, unknown>, operation: "update" };
    }
    if (isRotationGuard(args.type)) {
      const provider = rotationGuardProvider as Required<pulumi.dynamic.ResourceProvider>;
      const checked = checkGuard(args, previous.inputs, inputs, this.clock);
      const diff = await provider.diff(previous.id, previous.state, checked);
      if (!diff.changes) return { ...same, inputs: checked, operation: "same" };
      const { outs } = await provider.update(previous.id, previous.state, checked);
      return { id: previous.id, state: outs as Record<string, unknown>, inputs: checked, operation: "update" };
    }
    if (args.type.startsWith("random:")) {
      // A random value is kept while its inputs stay the same, and drawn again when they change.
      if (canonicalJson(previous.inputs) === canonicalJson(inputs)) return { ...same, operation: "same" };
      return { ...(await create(args, inputs, this.clock)), operation: "replace" };
    }
    const state = dockerState(args, inputs);
    const unchanged = canonicalJson(previous.state) === canonicalJson(state);
    return { id: previous.id, state, operation: unchanged ? "same" : "update" };
  }

  /** The clock for a create, moved by `msPerCreate` first. */
  private tick(): Date {
    if (this.msPerCreate > 0) this.clock = new Date(this.clock.getTime() + this.msPerCreate);
    return this.clock;
  }

  call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
    return args.inputs;
  }

  /**
   * Runs one simulated update of `program` with `config`, then commits state: resources not registered this run
   * are dropped from the stack, like `pulumi up` deletes them. A preview commits nothing.
   */
  async run<T>(
    config: Record<string, unknown>,
    program: () => T,
    options: RunOptions = {},
  ): Promise<{ result: Awaited<T>; registered: Registered[] }> {
    this.registered = [];
    if (this.runs++ > 0) this.clock = new Date(this.clock.getTime() + this.secondsBetweenRuns * 1000);
    const { result, options: registeredOptions } = await runUnderMocks(this, config, program, options);
    this.options = registeredOptions;
    if (!options.preview) {
      this.stack.clear();
      for (const { type, name, id, inputs, state } of this.registered)
        this.stack.set(name, { type, name, id, inputs, state });
    }
    return { result, registered: this.registered };
  }
}
