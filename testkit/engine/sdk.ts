/**
 * Every internal of `@pulumi/pulumi` that the mock engines touch, in one place: the wire format of secrets, the mock
 * monitor's registrations (resource options never reach `Mocks.newResource`), waiting for outstanding
 * registrations, and an output's value. None of these is in the SDK's public typings; `test/engine/sdk.test.ts`
 * checks each one against the installed SDK and names the one that changed.
 */
import * as pulumi from "@pulumi/pulumi";

/** `@pulumi/pulumi/runtime/rpc`: how a secret travels to the engine (`{[specialSigKey]: specialSecretSig, value}`). */
interface RpcInternals {
  specialSigKey: string;
  specialSecretSig: string;
  unknownValue: string;
}

/** `@pulumi/pulumi/runtime/settings`: the monitor in use, and the count of registrations still under way. */
interface SettingsInternals {
  getMonitor(): { registerResource(request: RegisterRequest, callback: unknown): unknown } | undefined;
  waitForRPCs(): Promise<void>;
}

/** The getters of the SDK's `RegisterResourceRequest` (generated protobuf) that the engines read. */
export interface RegisterRequest {
  getName(): string;
  getParent(): string;
  getDependenciesList(): string[];
  hasRetainondelete(): boolean;
  getRetainondelete(): boolean;
  getReplaceonchangesList(): string[];
  getDeletebeforereplace(): boolean;
}

const rpc = (): RpcInternals => require("@pulumi/pulumi/runtime/rpc");
const settings = (): SettingsInternals => require("@pulumi/pulumi/runtime/settings");

/** The value the engine passes to providers for an input that is not known yet (during a preview). */
export const engineUnknownValue = (): string => rpc().unknownValue;

/** True when `value` is a secret as the SDK serializes it for the engine. */
export function isSecretWrapper(value: unknown): value is { value: unknown } {
  const { specialSigKey, specialSecretSig } = rpc();
  return (
    value !== null &&
    typeof value === "object" &&
    (value as Record<string, unknown>)[specialSigKey] === specialSecretSig
  );
}

/** Removes the secret wrappers, as the real dynamic-provider host hands `create` plain values. */
export function unwrapSecrets(value: unknown): unknown {
  if (isSecretWrapper(value) && "value" in value) return unwrapSecrets(value.value);
  if (Array.isArray(value)) return value.map(unwrapSecrets);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrapSecrets(v)]));
  }
  return value;
}

/**
 * A registration's inputs as a provider receives them: plain values, without the serialized provider text that
 * dynamic resources carry (`__provider`, not part of any resource's identity here).
 */
export function providerInputs(inputs: Record<string, unknown>): Record<string, unknown> {
  const { __provider: _provider, ...plain } = unwrapSecrets(inputs) as Record<string, unknown>;
  return plain;
}

/** Names of the top-level inputs that reached the engine as secrets, e.g. `["envs", "uploads"]`. */
export function secretInputNames(inputs: Record<string, unknown>): string[] {
  return Object.entries(inputs)
    .filter(([, v]) => isSecretWrapper(v))
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

/** Hooks the mock monitor installed by `setMocks`, so each registration's options are recorded by resource name. */
export function recordRegistrations(options: Map<string, RegisteredOptions>): void {
  const monitor = settings().getMonitor();
  if (!monitor) throw new Error("no mock monitor: call pulumi.runtime.setMocks first");
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (request, callback) => {
    options.set(request.getName(), {
      parent: request.getParent(),
      dependencies: request.getDependenciesList(),
      ...(request.hasRetainondelete() ? { retainOnDelete: request.getRetainondelete() } : {}),
      replaceOnChanges: request.getReplaceonchangesList(),
      deleteBeforeReplace: request.getDeletebeforereplace(),
    });
    return register(request, callback);
  };
}

/** Waits for every outstanding resource registration, as the real runtime does before the program exits. */
export function waitForRegistrations(): Promise<void> {
  return settings().waitForRPCs();
}

/** The resolved value of an output (undefined when unknown). */
export async function valueOf<T>(output: pulumi.Output<T> | pulumi.Input<T>): Promise<T> {
  if (pulumi.Output.isInstance(output)) return (output as unknown as { promise(): Promise<T> }).promise();
  return output as T;
}
