/**
 * `KubernetesStack`: the Kubernetes objects of one self-hosted Supabase, beside the Docker target's `SupabaseStack`
 * and with the same arguments: the same service modules, keyring and builders, turned into objects by the pure
 * modules of this folder (`manifests.ts`, `podSpec.ts`, `networkPolicies.ts`, `secretData.ts`). Declares resources
 * only, the same way for every service.
 *
 * The cluster is the default provider's, configured by the standard `kubernetes:kubeconfig` and
 * `kubernetes:context` stack settings (as `docker:host` is for the Docker target).
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { DEFAULT_INSTANCE_NAME } from "../../config/deployment";
import { KUBERNETES_SETTINGS, type KubernetesSettings } from "../../config/kubernetes";
import { allByName, asPlain, asSecret } from "../../outputs";
import { PROJECT } from "../../schema/project";
import { runningServices, serviceOf, type ServiceRole } from "../../services/index";
import {
  envIsSecret,
  mountedVolumes,
  toEnvList,
  withExtraEnv,
  type EnvMap,
  type ServiceModule,
  type StackSettings,
  type UploadedFile,
  type VolumeRole,
} from "../../services/service";
import { build, buildNow, type StackKeyring } from "../build";
import { inputsDigest } from "../envDigest";
import { declareSecrets, type SecretOutputs } from "../secrets";
import {
  claimSpec,
  deploymentSpec,
  disruptionBudgetSpec,
  ingressBackend,
  ingressSpec,
  serviceSpec,
  statefulSetSpec,
} from "./manifests";
import { envSecretName, extraAliases, filesSecretName, objectLabels, serviceName, stackLabels } from "./naming";
import { networkPolicies } from "./networkPolicies";
import { requireFacts, type PodContext, type PodInputs } from "./podSpec";
import { envSecretData, splitFiles, SECRET_MAX_BYTES, type FileMount } from "./secretData";
import { transformed, type KubernetesTransforms } from "./transforms";

/** The `kubernetes` setting's defaults: one namespace named after the instance, a ClusterIP gateway, no Ingress. */
export const KUBERNETES_DEFAULTS = KUBERNETES_SETTINGS[0].schema.parse(undefined) as KubernetesSettings;

/** Arguments of a {@link KubernetesStack}: those of `SupabaseStack`, with the cluster's settings. */
export interface KubernetesStackArgs {
  /** The services' settings, validated with the settings registry (`parseConfig`). */
  config: StackSettings;
  /**
   * The keyring to wire into auth, the verifiers, kong and studio: a `SigningKeyring` (each value an output).
   * @example `keyring: new SigningKeyring("supabase", { config })`
   */
  keyring: StackKeyring;
  /**
   * The stack's name on the cluster: its pods' `app.kubernetes.io/instance` label, and the namespace unless
   * `kubernetes.namespace` names one.
   * @default "supabase"
   */
  instanceName?: string;
  /**
   * The namespace, replicas, resources, exposure, Ingress, pull policy and claims (the `kubernetes` setting).
   * @default one namespace, each service's default replicas and resources, a ClusterIP gateway
   */
  kubernetes?: KubernetesSettings;
  /**
   * Changes the arguments or options of the Kubernetes objects before they are declared, one hook per kind.
   * @example
   * ```ts
   * transform: { deployment: (args, opts) => { opts.customTimeouts = { create: "20m", update: "20m" }; } }
   * ```
   */
  transform?: KubernetesTransforms;
}

/** A service's files as the stack declares them: their Secrets, where each file is mounted, and the files. */
interface DeclaredFiles {
  secrets: k8s.core.v1.Secret[];
  mounts: pulumi.Output<FileMount[]>;
  files: pulumi.Output<UploadedFile[]>;
}

/** Self-hosted Supabase on one Kubernetes cluster, in one namespace. */
export class KubernetesStack extends pulumi.ComponentResource {
  /** The namespace: created when missing (taken over when it exists), retained on delete with db's claims in it. */
  readonly namespace: k8s.core.v1.Namespace;
  /** Its name. */
  readonly namespaceName: pulumi.Output<string>;
  /** Each service's Secrets: its environment's (`<role>-env`), then its files' (`<role>-files-<n>`). */
  readonly secrets: Partial<Record<ServiceRole, k8s.core.v1.Secret[]>> = {};
  /** Each service's Deployment; db's StatefulSet. */
  readonly workloads: Partial<Record<ServiceRole, k8s.apps.v1.Deployment | k8s.apps.v1.StatefulSet>> = {};
  /** Each service's Service, named after its first alias that can name one. */
  readonly services: Partial<Record<ServiceRole, k8s.core.v1.Service>> = {};
  /** The claims Pulumi declares (retained on delete); db's come from its StatefulSet. */
  readonly claims: Partial<Record<VolumeRole, k8s.core.v1.PersistentVolumeClaim>> = {};
  /** Each service's environment (secret when any entry is). */
  readonly envs: Partial<Record<ServiceRole, pulumi.Output<EnvMap>>> = {};
  /** The files of the services that get files (secret). */
  readonly files: Partial<Record<ServiceRole, pulumi.Output<UploadedFile[]>>> = {};
  /** The digest of each service's environment and files on its pod template: what rolls its pods. */
  readonly digests: Partial<Record<ServiceRole, pulumi.Output<string>>> = {};
  /** Basic-auth password of the dashboard route (secret); only when studio runs. */
  readonly dashboardPassword?: pulumi.Output<string>;
  /** The generated secrets by name (each a Pulumi secret; those these settings do not need are absent). */
  readonly generated: SecretOutputs["secrets"];
  /**
   * The name a pod anywhere in the cluster reaches a service's Service by, e.g. `pooler.supabase.svc` (the cluster
   * domain completes it through the pods' DNS search path).
   */
  readonly serviceHost: (role: ServiceRole) => string;
  private readonly transforms: KubernetesTransforms;
  private readonly context: PodContext;
  private readonly running: ServiceModule<ServiceRole>[];

  constructor(name: string, args: KubernetesStackArgs, opts?: pulumi.ComponentResourceOptions) {
    // Args stay out of super(): the SDK would store them, keyring secrets included, in the component's state.
    super(`${PROJECT}:index:KubernetesStack`, name, {}, opts);
    const { config, keyring } = args;
    const instance = args.instanceName ?? DEFAULT_INSTANCE_NAME;
    const kubernetes = args.kubernetes ?? KUBERNETES_DEFAULTS;
    this.transforms = args.transform ?? {};
    this.context = { instance, settings: config, kubernetes };
    const namespace = kubernetes.namespace ?? instance;
    this.running = runningServices(config);
    for (const service of this.running) requireFacts(service);
    const secrets = declareSecrets(name, config, this);
    this.generated = secrets.secrets;
    this.dashboardPassword = secrets.secrets.dashboardPassword as pulumi.Output<string> | undefined;
    // The key of the digests on the pod templates (see inputsDigest): generated once, kept in state.
    const digestKey = asSecret(
      new random.RandomPassword(`${name}-inputs-digest-key`, { length: 32, special: false }, { parent: this }).result,
    );

    this.namespace = new k8s.core.v1.Namespace(
      ...transformed(
        this.transforms.namespace,
        `${name}-namespace`,
        { metadata: { name: namespace, labels: stackLabels(instance) } },
        // Deleting a namespace deletes everything in it, db's retained claims included.
        { parent: this, retainOnDelete: true },
      ),
    );
    this.namespaceName = this.namespace.metadata.name;
    this.serviceHost = (role) => `${serviceName(serviceOf(role))}.${namespace}.svc`;
    this.declareClaims(name);
    for (const service of this.running) {
      const env = build(service.env, config, keyring, secrets).apply((e) => withExtraEnv(service.role, e, config));
      this.envs[service.role] = envIsSecret(service, config) ? asSecret(env) : env;
      const envSecret = this.secret(
        name,
        service.role,
        envSecretName(service.role),
        env.apply((e) => envSecretData(service.role, e)),
      );
      const files = this.declareFiles(name, service, keyring, secrets);
      this.secrets[service.role] = [envSecret, ...files.secrets];
      if (service.files) this.files[service.role] = asSecret(files.files);
      const digest = asPlain(
        pulumi.all([digestKey, env, files.files]).apply(([key, e, f]) => inputsDigest(key, toEnvList(e), f)),
      );
      this.digests[service.role] = digest;
      const inputs = allByName<PodInputs>({ digest, files: files.mounts, hostAliases: this.hostAliases(service) });
      this.declareWorkload(name, service, inputs);
    }
    this.declarePolicies(name);
    this.declareIngress(name);
    this.registerOutputs({
      namespace: this.namespaceName,
      workloads: Object.fromEntries(Object.entries(this.workloads).map(([role, w]) => [role, w.metadata.name])),
    });
  }

  /** The metadata of an object of a service: its name in the stack's namespace, and its labels. */
  private metadata(role: string, objectName: string) {
    return { name: objectName, namespace: this.namespaceName, labels: objectLabels(this.context.instance, role) };
  }

  /** One Secret; its data is always a Pulumi secret, whatever it holds. */
  private secret(name: string, role: string, secretName: string, data: pulumi.Input<Record<string, string>>) {
    return new k8s.core.v1.Secret(
      ...transformed(
        this.transforms.secret,
        `${name}-${secretName}`,
        { metadata: this.metadata(role, secretName), type: "Opaque", stringData: asSecret(pulumi.output(data)) },
        { parent: this },
      ),
    );
  }

  /**
   * A service's files in Secrets. Files that depend on the settings alone (the functions') are known now: they are
   * spread over as many Secrets as they need. Files built from keys and passwords (kong.yml, db's init SQL) are
   * small and go into one Secret, refused when they outgrow it.
   */
  private declareFiles(
    name: string,
    service: ServiceModule,
    keyring: StackKeyring,
    secrets: SecretOutputs,
  ): DeclaredFiles {
    const role = service.role;
    if (!service.files) return { secrets: [], mounts: pulumi.output([]), files: pulumi.output([]) };
    const known = buildNow(service.files, this.context.settings);
    if (known) {
      const chunks = splitFiles(role, known);
      return {
        secrets: chunks.map((chunk) => this.secret(name, role, chunk.secret, chunk.data)),
        mounts: pulumi.output(chunks.flatMap((chunk) => chunk.files)),
        files: pulumi.output(known),
      };
    }
    const files = build(service.files, this.context.settings, keyring, secrets);
    const chunk = files.apply((list) => {
      const chunks = splitFiles(role, list);
      if (chunks.length > 1)
        throw new Error(`${role}'s files are more than one Secret holds (${SECRET_MAX_BYTES} bytes)`);
      return chunks[0] ?? { secret: filesSecretName(role, 0), data: {}, files: [] };
    });
    return {
      secrets: [
        this.secret(
          name,
          role,
          filesSecretName(role, 0),
          chunk.apply((c) => c.data),
        ),
      ],
      // Where each file goes and under which key holds nothing secret, and keeps the pod template plain.
      mounts: asPlain(chunk.apply((c) => c.files)),
      files,
    };
  }

  /**
   * What a pod resolves through its hosts file: its own aliases as itself (on Docker a container reaches itself
   * under them, and storage's health check calls `storage`), and each earlier service's aliases that its Service
   * does not answer to (realtime's `realtime-dev.supabase-realtime`) as that Service's cluster IP. Only earlier
   * services: a Service is created once its pods are ready, and an earlier one never waits for a later one.
   */
  private hostAliases(service: ServiceModule): pulumi.Output<PodInputs["hostAliases"]> {
    const index = this.running.indexOf(service as ServiceModule<ServiceRole>);
    const others = this.running.slice(0, index).flatMap((earlier) => {
      const hostnames = extraAliases(earlier);
      const target = this.services[earlier.role];
      return hostnames.length > 0 && target ? [target.spec.clusterIP.apply((ip) => ({ ip, hostnames }))] : [];
    });
    return pulumi.all([{ ip: "127.0.0.1", hostnames: [...service.aliases] }, ...others]);
  }

  /** The claims of the volumes the Deployments mount (db's are its StatefulSet's), each retained on delete. */
  private declareClaims(name: string): void {
    const deployed = this.running.filter((service) => requireFacts(service).workload !== "statefulSet");
    for (const volume of mountedVolumes(deployed)) {
      this.claims[volume] = new k8s.core.v1.PersistentVolumeClaim(
        ...transformed(
          this.transforms.claim,
          `${name}-${volume}`,
          {
            metadata: { name: volume, namespace: this.namespaceName, labels: stackLabels(this.context.instance) },
            spec: claimSpec(volume, this.context.kubernetes),
          },
          { parent: this, retainOnDelete: true },
        ),
      );
    }
  }

  /**
   * A service's workload (db's StatefulSet, every other's Deployment), then its Service once its pods are ready,
   * and a PodDisruptionBudget when it runs more than one. It starts after the Services of what it depends on.
   */
  private declareWorkload(name: string, service: ServiceModule<ServiceRole>, inputs: pulumi.Output<PodInputs>): void {
    const role = service.role;
    const running = this.running.map((s) => s.role);
    const dependsOn: pulumi.Resource[] = [
      ...(this.secrets[role] ?? []),
      ...(service.volumes ?? []).flatMap((v) => this.claims[v.volume] ?? []),
      ...service.dependsOn(running).map((dependency) => {
        const before = this.services[dependency as ServiceRole];
        if (!before) throw new Error(`${role} depends on ${dependency}, which does not start before it`);
        return before;
      }),
    ];
    const metadata = this.metadata(role, role);
    const opts = { parent: this, dependsOn };
    const workload =
      requireFacts(service).workload === "statefulSet"
        ? new k8s.apps.v1.StatefulSet(
            ...transformed(
              this.transforms.statefulSet,
              `${name}-${role}`,
              { metadata, spec: inputs.apply((i) => statefulSetSpec(service, this.context, i)) },
              opts,
            ),
          )
        : new k8s.apps.v1.Deployment(
            ...transformed(
              this.transforms.deployment,
              `${name}-${role}`,
              { metadata, spec: inputs.apply((i) => deploymentSpec(service, this.context, i)) },
              opts,
            ),
          );
    this.workloads[role] = workload;
    this.services[role] = new k8s.core.v1.Service(
      ...transformed(
        this.transforms.service,
        `${name}-${role}-service`,
        { metadata: this.metadata(role, serviceName(service)), spec: serviceSpec(service, this.context) },
        { parent: this, dependsOn: [workload] },
      ),
    );
    const budget = disruptionBudgetSpec(service, this.context);
    if (budget) {
      new k8s.policy.v1.PodDisruptionBudget(
        ...transformed(
          this.transforms.disruptionBudget,
          `${name}-${role}-disruption-budget`,
          { metadata, spec: budget },
          { parent: this },
        ),
      );
    }
  }

  /** The NetworkPolicies: default deny, each service from the stack, the gateway from anywhere, db from its clients. */
  private declarePolicies(name: string): void {
    const { instance, settings, kubernetes } = this.context;
    for (const policy of networkPolicies(this.running, instance, settings, kubernetes)) {
      new k8s.networking.v1.NetworkPolicy(
        ...transformed(
          this.transforms.networkPolicy,
          `${name}-network-policy-${policy.name}`,
          {
            metadata: { name: policy.name, namespace: this.namespaceName, labels: stackLabels(instance) },
            spec: policy.spec,
          },
          { parent: this },
        ),
      );
    }
  }

  /** The gateway's Ingress, with `kubernetes.ingress`. */
  private declareIngress(name: string): void {
    const gateway = ingressBackend(this.running);
    const spec = gateway && ingressSpec(gateway, this.context.settings, this.context.kubernetes);
    if (!gateway || !spec) return;
    const service = this.services[gateway.role];
    new k8s.networking.v1.Ingress(
      ...transformed(
        this.transforms.ingress,
        `${name}-ingress`,
        { metadata: this.metadata(gateway.role, serviceName(gateway)), spec },
        { parent: this, dependsOn: service ? [service] : [] },
      ),
    );
  }
}
