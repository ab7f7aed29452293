/**
 * imgproxy, storage's image transformer; runs with `storage.imageTransformation` (default true, as upstream). It
 * reads the files of the file backend from the storage volume, mounted at the same path as in storage, and holds
 * no key or secret.
 */
import { defineService, environment, managed } from "../service";
import { STORAGE_FILE_PATH } from "../storage/storage";

const IMGPROXY_PORT = 5001;

export const imgproxy = defineService({
  role: "imgproxy",
  image: "imgproxy",
  port: IMGPROXY_PORT,
  aliases: ["imgproxy"],
  healthcheck: { tests: ["CMD", "imgproxy", "health"], interval: "5s", timeout: "5s", retries: 3 },
  dependsOn: () => [],
  runs: (settings) => settings.storage.imageTransformation,
  volumes: [{ volume: "storage-data", containerPath: STORAGE_FILE_PATH }],
  secretEnv: false,
  env: environment({
    table: {
      IMGPROXY_BIND: managed("the stack network (storage calls this port)", `:${IMGPROXY_PORT}`),
      // With the file backend storage hands imgproxy `local://` paths into the shared volume.
      IMGPROXY_LOCAL_FILESYSTEM_ROOT: managed("the storage volume", "/"),
      IMGPROXY_USE_ETAG: "true",
      IMGPROXY_AUTO_WEBP: "true",
      IMGPROXY_MAX_SRC_RESOLUTION: "16.8",
    },
  }),
});
