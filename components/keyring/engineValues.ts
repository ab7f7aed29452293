/**
 * Values of the Pulumi engine's wire protocol that our providers and policies must recognize. Pure: no imports,
 * so it costs nothing inside a serialized dynamic provider.
 */

/** What the engine passes to a provider (and a policy) for an input not known yet, during a preview. */
export const UNKNOWN_INPUT = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
