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
  kubernetes: {
    replicas: {
      default: 1,
      why: "it renders the files of storage's volume for storage alone; raise it for heavy transformation loads",
    },
    image: {
      // imgproxy `docker/Dockerfile`: `useradd -r -u 999`, `USER 999`; it makes /var/cache/fontconfig writable for
      // fontconfig's cache, and libvips spills to /tmp.
      runAsUser: 999,
      readOnlyRootFilesystem: true,
      writableDirs: ["/tmp", "/var/cache/fontconfig"],
      why: "imgproxy `docker/Dockerfile`: `USER 999`; it writes only fontconfig's cache and temporary files",
    },
    resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "512Mi" } },
  },
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
