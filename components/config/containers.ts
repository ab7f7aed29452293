/**
 * How every container runs on the Docker target: its log rotation (Docker's json-file log grows without bound
 * otherwise, and the gateway logs every request) and a memory limit per service.
 */
import { integer, map, object, text } from "../schema/fields";
import { defineSetting, type SettingsValues } from "../schema/setting";
import { SERVICE_ROLES } from "../services/index";

/** The json-file driver's rotation defaults: 3 files of 10 MB, 30 MB of logs per container at most. */
export const LOG_ROTATION_DEFAULTS = { maxSize: "10m", maxFiles: 3 } as const;

/** Every setting of the containers. */
export const CONTAINER_SETTINGS = [
  defineSetting({
    key: "containers",
    schema: object(
      {
        logMaxSize: text({
          pattern: /^[1-9]\d*[kmg]$/,
          expected: "a size such as 10m (k, m or g)",
          type: "size, e.g. `10m`",
        })
          .default(LOG_ROTATION_DEFAULTS.maxSize)
          .describe("the size at which Docker rotates a container's log (json-file `max-size`)"),
        logMaxFiles: integer({ min: 1, max: 100 })
          .default(LOG_ROTATION_DEFAULTS.maxFiles)
          .describe("how many rotated log files Docker keeps per container (json-file `max-file`)"),
        memoryMb: map(integer({ min: 6 }), "a map of service to its memory limit in MB, e.g. {db: 2048}", {
          values: SERVICE_ROLES as unknown as readonly [string, ...string[]],
          noun: "a service of this stack",
        })
          .default({})
          .meta({ "x-type": "map service → MB", "x-default": "no limit" })
          .describe(
            "a hard memory limit per service (Docker's `--memory`; 6 MB is Docker's minimum). The process is " +
              "killed when it exceeds it: size db's for its `shared_buffers` plus connections",
          ),
      },
      "{logMaxSize: 10m, logMaxFiles: 3, memoryMb: {db: 2048}}",
    )
      .prefault({})
      .transform((value) => value as { logMaxSize: string; logMaxFiles: number; memoryMb: Record<string, number> }),
    doc: "log rotation of every container (on by default) and memory limits per service",
    details: "docs/containers.md#hardening-and-limits",
  }),
] as const;

/** The validated container settings. */
export type ContainerSettings = SettingsValues<typeof CONTAINER_SETTINGS>["containers"];
