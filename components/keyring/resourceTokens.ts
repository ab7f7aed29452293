/**
 * The module and type the keyring's dynamic resources register under (`pulumi-nodejs:dynamic/<module>:<type>`).
 * Pure and free of the SDK, so the policy pack and the mock engines can match resources by them.
 */
import { PROJECT } from "../schema/project";

/** One `SigningKey` per keyring entry. */
export const SIGNING_KEY_TOKEN = { module: PROJECT, type: "SigningKey" } as const;

/** The rotation guard. */
export const ROTATION_GUARD_TOKEN = { module: PROJECT, type: "RotationGuard" } as const;
