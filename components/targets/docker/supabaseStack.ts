/**
 * `SupabaseStack`: the Docker resources of one self-hosted Supabase. Declares resources only, the same way for
 * every service: its environment, files, health check and place in the start order come from its module in
 * `services/`, and the list of services from `services/index.ts`.
 *
 * The Docker host is the default provider's, configured by the standard `docker:host` stack setting (the local
 * socket by default, `ssh://user@host` for a server); files are shipped with `uploads`, never bind mounts, so a
 * remote host needs nothing on its disk.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { asSecret } from "../../outputs";
import { PROJECT } from "../../schema/project";
import type { ImageKey } from "../../services/images";
import { runningServices, type ServiceRole } from "../../services/index";
import {
  envIsSecret,
  UNNEEDED_CAPABILITIES,
  toEnvList,
  mountedVolumes,
  withExtraEnv,
  type ServiceModule,
  type StackSettings,
  type UploadedFile,
  type VolumeRole,
} from "../../services/service";
import { build, type StackKeyring } from "../build";
import { envDigestFile } from "../envDigest";
import { LOG_ROTATION_DEFAULTS, type ContainerSettings } from "../../config/containers";
import { DEFAULT_INSTANCE_NAME } from "../../config/deployment";
import { dockerName, RETAIN_LABEL } from "./naming";
import { transformed, type DockerTransforms } from "./transforms";
import { declareSecrets, type SecretOutputs } from "../secrets";

export type { StackKeyring };

/** Arguments of a {@link SupabaseStack}. */
export interface SupabaseStackArgs {
  /**
   * The services' settings, validated with the settings registry: `parseConfig` turns a stack config (or the same
   * keys as an object) into them, defaults applied, and refuses bad values before any resource exists.
   * @example
   * ```ts
   * const config = parseConfig({ signingKeys: [{ name: "k1", state: "current" }], apiExternalUrl: "https://api.example.com" });
   * ```
   */
  config: StackSettings;
  /**
   * The keyring to wire into auth, the verifiers, kong and studio: a `SigningKeyring` (each value an output).
   * @example `keyring: new SigningKeyring("supabase", { config })`
   */
  keyring: StackKeyring;
  /**
   * The prefix of every Docker object's name (`<instanceName>-auth`, `<instanceName>-db-data`, …), so several
   * stacks can share one Docker host.
   * @default "supabase"
   */
  instanceName?: string;
  /**
   * How every container runs: log rotation and memory limits per service (the `containers` setting).
   * @default rotated logs (3 files of 10 MB), no memory limit
   */
  containers?: ContainerSettings;
  /**
   * Changes the arguments or options of the Docker resources before they are declared, one hook per kind.
   * @default no change
   * @example
   * ```ts
   * transform: { container: (args) => { args.labels = [{ label: "team", value: "platform" }]; } }
   * ```
   */
  transform?: DockerTransforms;
}

/** Self-hosted Supabase on one Docker host. */
export class SupabaseStack extends pulumi.ComponentResource {
  /** The user network every container joins (stable DNS names = the aliases of the service modules). */
  readonly network: docker.Network;
  /** Named volumes (those a running service mounts), all retained when deleted. */
  readonly volumes: Partial<Record<VolumeRole, docker.Volume>>;
  /** One pinned image per service that runs. */
  readonly images: Partial<Record<ImageKey, docker.RemoteImage>>;
  /** The containers by role. */
  readonly containers: Partial<Record<ServiceRole, docker.Container>>;
  /** The `envs` handed to each container (secret when any entry is). */
  readonly envs: Partial<Record<ServiceRole, pulumi.Output<string[]>>>;
  /** The `uploads` handed to the containers that get files (secret). */
  readonly uploads: Partial<Record<ServiceRole, pulumi.Output<UploadedFile[]>>>;
  /** Basic-auth password of the dashboard route (secret); only when studio runs. */
  readonly dashboardPassword?: pulumi.Output<string>;
  /** The generated secrets by name (each a Pulumi secret; those these settings do not need are absent). */
  readonly generated: SecretOutputs["secrets"];
  /** The Docker name of a role's container or volume in this instance. */
  readonly dockerName: (role: string) => string;
  private readonly transforms: DockerTransforms;
  private readonly containerSettings: ContainerSettings;

  constructor(name: string, args: SupabaseStackArgs, opts?: pulumi.ComponentResourceOptions) {
    // Args stay out of super(): the SDK would store them, keyring secrets included, in the component's state.
    super(`${PROJECT}:index:SupabaseStack`, name, {}, opts);
    const { config, keyring } = args;
    const instance = args.instanceName ?? DEFAULT_INSTANCE_NAME;
    this.transforms = args.transform ?? {};
    this.containerSettings = args.containers ?? {
      logMaxSize: LOG_ROTATION_DEFAULTS.maxSize,
      logMaxFiles: LOG_ROTATION_DEFAULTS.maxFiles,
      memoryMb: {},
    };
    this.dockerName = (role: string) => dockerName(instance, role);
    const services = runningServices(config);
    const secrets = declareSecrets(name, config, this);
    this.dashboardPassword = secrets.secrets.dashboardPassword as pulumi.Output<string> | undefined;
    this.generated = secrets.secrets;

    this.network = new docker.Network(
      ...transformed(
        this.transforms.network,
        `${name}-network`,
        { name: this.dockerName("network"), driver: "bridge" },
        { parent: this },
      ),
    );
    this.volumes = this.declareVolumes(name, services, config);
    this.images = this.declareImages(name, config, services);

    this.envs = {};
    this.uploads = {};
    this.containers = {};
    for (const service of services) {
      const role = service.role;
      const envs = build(service.env, config, keyring, secrets).apply((env) =>
        toEnvList(withExtraEnv(role, env, config)),
      );
      // The whole list is one secret when any entry is: Docker takes it as a single value.
      const secretEnv = envIsSecret(service, config);
      this.envs[role] = secretEnv ? asSecret(envs) : envs;
      const files = service.files ? build(service.files, config, keyring, secrets) : pulumi.output([]);
      // An environment that reads the keyring can be unknown during a preview: see envDigest.ts.
      const digest = service.env.keyring.length > 0 ? envs.apply((list) => [envDigestFile(list)]) : pulumi.output([]);
      const uploads = pulumi.all([files, digest]).apply(([f, d]) => [...f, ...d]);
      if (service.files) this.uploads[role] = asSecret(uploads);
      else if (service.env.keyring.length > 0) this.uploads[role] = secretEnv ? asSecret(uploads) : uploads;
      this.containers[role] = this.declareContainer(name, service, config, services);
    }

    this.registerOutputs({
      network: this.network.name,
      containers: Object.fromEntries(Object.entries(this.containers).map(([role, c]) => [role, c.name])),
    });
  }

  /**
   * The named volumes the running services mount; retainOnDelete, so neither a replaced container nor `pulumi
   * destroy` takes the data.
   */
  private declareVolumes(
    name: string,
    services: ServiceModule[],
    config: StackSettings,
  ): Partial<Record<VolumeRole, docker.Volume>> {
    // A module that owns a volume may name it from the settings (db's data volume after a restore).
    const named = (role: VolumeRole) =>
      services
        .flatMap((s) => s.volumes ?? [])
        .map((v) => (v.volume === role ? v.name?.(config) : undefined))
        .find((n) => n !== undefined);
    return Object.fromEntries(
      mountedVolumes(services).map((role) => [
        role,
        new docker.Volume(
          ...transformed(
            this.transforms.volume,
            `${name}-${role}`,
            { name: named(role) ?? this.dockerName(role), labels: [{ label: RETAIN_LABEL, value: "true" }] },
            { parent: this, retainOnDelete: true },
          ),
        ),
      ]),
    );
  }

  /** One pinned image per image key that a running service uses, kept on the host when the stack goes. */
  private declareImages(name: string, config: StackSettings, services: ServiceModule[]) {
    const images: Partial<Record<ImageKey, docker.RemoteImage>> = {};
    for (const key of new Set(services.map((s) => s.image))) {
      images[key] = new docker.RemoteImage(
        ...transformed(
          this.transforms.image,
          `${name}-image-${key}`,
          { name: config.images[key], keepLocally: true },
          { parent: this },
        ),
      );
    }
    return images;
  }

  private volumeOf(role: VolumeRole): docker.Volume {
    const volume = this.volumes[role];
    if (!volume) throw new Error(`no volume declared for ${role}`);
    return volume;
  }

  /** One service's container; its `envs` and `uploads` must be set already, and those of its dependencies. */
  private declareContainer(
    name: string,
    service: ServiceModule<ServiceRole>,
    config: StackSettings,
    services: ServiceModule<ServiceRole>[],
  ): docker.Container {
    const role = service.role;
    const running = services.map((s) => s.role);
    const dependsOn = service.dependsOn(running).map((dependency) => {
      const container = this.containers[dependency as ServiceRole];
      if (!container) throw new Error(`${role} depends on ${dependency}, which does not start before it`);
      return container;
    });
    const image = this.images[service.image];
    if (!image) throw new Error(`no image declared for ${role}`);
    const uploads = this.uploads[role];
    const ports = service.publishedPorts?.(config);
    const wait = service.healthyBeforeDependants;
    const memory = this.containerSettings.memoryMb[role];
    return new docker.Container(
      ...transformed(
        this.transforms.container,
        `${name}-${role}`,
        {
          name: this.dockerName(role),
          image: image.imageId,
          envs: this.envs[role],
          ...(uploads ? { uploads } : {}),
          ...(service.command ? { command: [...service.command] } : {}),
          ...(service.entrypoint ? { entrypoints: [...service.entrypoint] } : {}),
          restart: "unless-stopped",
          // Rotated logs: Docker's json-file log otherwise grows without bound (the gateway logs every request).
          logDriver: "json-file",
          logOpts: {
            "max-size": this.containerSettings.logMaxSize,
            "max-file": String(this.containerSettings.logMaxFiles),
          },
          // No process may gain privileges (setuid binaries, file capabilities) beyond what it started with.
          securityOpts: ["no-new-privileges:true"],
          capabilities: { drops: [...(service.dropCapabilities ?? UNNEEDED_CAPABILITIES)] },
          ...(memory !== undefined ? { memory } : {}),
          healthcheck: { ...service.healthcheck },
          networksAdvanced: [{ name: this.network.name, aliases: [...service.aliases] }],
          volumes: (service.volumes ?? []).map((v) => ({
            volumeName: this.volumeOf(v.volume).name,
            containerPath: v.containerPath,
            ...(v.readOnly ? { readOnly: true } : {}),
          })),
          ...(ports && ports.length > 0 ? { ports } : {}),
          ...(wait ? { wait: true, waitTimeout: wait.timeoutSeconds } : {}),
        },
        {
          parent: this,
          dependsOn,
          // A health check change otherwise updates nothing in Docker (the provider cannot change it in place).
          replaceOnChanges: ["healthcheck"],
          // Fixed container names: the old container must go before its replacement can take the name.
          deleteBeforeReplace: true,
        },
      ),
    );
  }
}
