/**
 * The small mock for tests that look at what one run of a program declares: no state between runs, every resource
 * created once (our providers' real `check`/`create`, random values, Docker inputs as state). Tests where state
 * across runs matters (rotation, guard rails, blast radius) use the stateful `MockEngine` instead.
 */
import type * as pulumi from "@pulumi/pulumi";
import { create } from "../../testkit/engine/resources";
import { runUnderMocks, type RunOptions } from "../../testkit/engine/run";
import { providerInputs, secretInputNames, type RegisteredOptions } from "../../testkit/engine/sdk";

/** A resource as one run declared it. */
export interface Declared {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
  state: Record<string, unknown>;
  /** The top-level inputs that reached the engine as secrets. */
  secretInputs: string[];
}

/** What one run declared: the program's result, every resource in registration order, and their options. */
export interface Shapes<T> {
  result: T;
  declared: Declared[];
  options: Map<string, RegisteredOptions>;
}

/** A stateless mock: each `newResource` is a first creation. `declared` lists what the latest run declared. */
export class ShapeMocks implements pulumi.runtime.Mocks {
  declared: Declared[] = [];
  private readonly now = new Date();

  async newResource(args: pulumi.runtime.MockResourceArgs): Promise<{ id: string; state: Record<string, unknown> }> {
    const inputs = providerInputs(args.inputs);
    const { id, state, inputs: checked } = await create(args, inputs, this.now);
    this.declared.push({
      type: args.type,
      name: args.name,
      inputs: checked ?? inputs,
      state,
      secretInputs: secretInputNames(args.inputs),
    });
    return { id, state };
  }

  call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
    return args.inputs;
  }

  /** Runs `program` once with `config`. */
  async run<T>(
    config: Record<string, unknown>,
    program: () => T,
    options: RunOptions = {},
  ): Promise<Shapes<Awaited<T>>> {
    this.declared = [];
    const { result, options: registered } = await runUnderMocks(this, config, program, options);
    return { result, declared: this.declared, options: registered };
  }
}

/** Runs `program` once with `config` under a fresh stateless mock. */
export function declare<T>(config: Record<string, unknown>, program: () => T, options: RunOptions = {}) {
  return new ShapeMocks().run(config, program, options);
}
