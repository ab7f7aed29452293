/** Output helpers shared by the components. */
import * as pulumi from "@pulumi/pulumi";

/**
 * `pulumi.secret` for an output, keeping its type: the SDK's deep `Unwrap` typing cannot follow the JWK index
 * signature, so the plain call would need a cast at every use.
 */
export const asSecret = <T>(value: pulumi.Output<T>): pulumi.Output<T> =>
  pulumi.secret(value) as unknown as pulumi.Output<T>;

/** `pulumi.unsecret` for an output derived from secrets that holds only public material, keeping its type. */
export const asPlain = <T>(value: pulumi.Output<T>): pulumi.Output<T> =>
  pulumi.unsecret(value) as unknown as pulumi.Output<T>;

/**
 * `pulumi.all` over named outputs, typed by name: wiring by name instead of by position in an array, with a type the
 * SDK's deep `Unwrap` cannot compute for JWKs.
 */
export function allByName<T extends object>(outputs: { [K in keyof T]: pulumi.Input<T[K]> }): pulumi.Output<T> {
  return pulumi.all(outputs as Record<string, pulumi.Input<unknown>>) as unknown as pulumi.Output<T>;
}
