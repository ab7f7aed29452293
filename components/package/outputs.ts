/**
 * What a deployment gives its users, in one table: the program's stack outputs and the `Supabase` component's
 * outputs are both these, computed by {@link deploymentOutputs}; the package schema describes them from the same
 * table.
 */
import * as pulumi from "@pulumi/pulumi";
import type { ProgramConfig } from "../config/settings";
import type { SigningKeyring } from "../keyring/signingKeyring";
import { JWKS_PATH } from "../services/kong/routes";
import type { ServiceRole } from "../services";
import { poolerConnectionString } from "../services/pooler/pooler";
import { storageRegion } from "../services/storage/storage";
import type { SecretOutputs } from "../targets/secrets";
import type { OutputSpec } from "./packageSchema";

/** Every output: what it holds, whether it is a secret, whether only some settings give it. */
export const OUTPUTS = {
  apiUrl: { type: "string", description: "Where clients reach the gateway (`apiExternalUrl`)." },
  jwksUrl: { type: "string", description: "The public JWKS through the gateway: what verifiers fetch." },
  currentKid: { type: "string", description: "The kid of the key that signs new tokens." },
  jwks: { type: "string", description: "The public JWKS auth publishes, as JSON text (no private member)." },
  publishableKey: { type: "string", secret: true, description: "The opaque `sb_publishable_…` key for clients." },
  secretKey: { type: "string", secret: true, description: "The opaque `sb_secret_…` key for servers." },
  apiKeys: {
    type: "map",
    secret: true,
    description: "Every active API key by name (`publishable`, `secret`, …); a revoked key is not in it.",
  },
  anonKey: { type: "string", secret: true, description: "The current key's pre-signed anon JWT." },
  serviceRoleKey: { type: "string", secret: true, description: "The current key's pre-signed service_role JWT." },
  legacyAnonKey: {
    type: "string",
    secret: true,
    optional: true,
    description: "With `legacyHs256`: the HS256 anon key (the imported one, else minted).",
  },
  legacyServiceRoleKey: {
    type: "string",
    secret: true,
    optional: true,
    description: "With `legacyHs256`: the HS256 service_role key (the imported one, else minted).",
  },
  dashboardUsername: {
    type: "string",
    optional: true,
    description: "With `studio`: the basic-auth user of the dashboard (at `apiUrl`).",
  },
  dashboardPassword: {
    type: "string",
    secret: true,
    optional: true,
    description: "With `studio`: the dashboard's generated basic-auth password.",
  },
  storageS3Url: { type: "string", description: "The endpoint S3 clients use for storage's S3 protocol." },
  storageS3Region: { type: "string", description: "The region S3 clients sign for." },
  storageS3AccessKeyId: { type: "string", secret: true, description: "The generated S3-protocol access key id." },
  storageS3SecretAccessKey: {
    type: "string",
    secret: true,
    description: "The generated S3-protocol secret access key.",
  },
  poolerSessionUrl: {
    type: "string",
    optional: true,
    description: "With `pooler.enabled`: the session-mode connection string (the password is `postgresPassword`).",
  },
  poolerTransactionUrl: {
    type: "string",
    optional: true,
    description: "With `pooler.enabled`: the transaction-mode connection string.",
  },
  kubernetesNamespace: {
    type: "string",
    optional: true,
    description: "With `target: kubernetes`: the namespace every object of the stack is in.",
  },
  postgresPassword: {
    type: "string",
    secret: true,
    description: "The superuser's password (`postgres`, `supabase_admin`): the configured one, or the generated one.",
  },
} as const satisfies Record<string, OutputSpec>;

type Specs = typeof OUTPUTS;

/** The value of an output as its spec says: a text, or texts by name. */
type ValueOf<S> = S extends { type: "map" } ? Record<string, string> : string;

/** The outputs by name, each a Pulumi output; those only some settings give are absent without them. */
export type DeploymentOutputs = {
  [K in keyof Specs as Specs[K] extends { optional: true } ? never : K]: pulumi.Output<ValueOf<Specs[K]>>;
} & {
  [K in keyof Specs as Specs[K] extends { optional: true } ? K : never]?: pulumi.Output<ValueOf<Specs[K]>>;
};

/** What the outputs are computed from: the settings, the keyring and the stack of one deployment. */
export interface Deployment {
  config: ProgramConfig;
  keyring: SigningKeyring;
  stack: {
    dashboardPassword?: pulumi.Output<string>;
    generated: SecretOutputs["secrets"];
    /** On Kubernetes: the host name pods in the cluster reach a service's Service at. */
    serviceHost?: (role: ServiceRole) => string;
    /** On Kubernetes: the stack's namespace. */
    namespaceName?: pulumi.Output<string>;
  };
}

/** The outputs of one deployment (secrets stay secrets). */
export function deploymentOutputs({ config, keyring, stack }: Deployment): DeploymentOutputs {
  const text = (value: string) => pulumi.output(value);
  const pooler = config.pooler.enabled;
  // On Kubernetes the connection strings name the pooler's Service as pods in the cluster reach it.
  const poolerAt = stack.serviceHost ? { ...config.pooler, host: stack.serviceHost("pooler") } : config.pooler;
  return {
    apiUrl: text(config.apiExternalUrl),
    jwksUrl: text(`${config.apiExternalUrl}${JWKS_PATH}`),
    currentKid: keyring.currentKid,
    jwks: keyring.publicJwks.apply((set) => JSON.stringify(set)),
    // The settings keep an active key of each kind (apiKeySettings.ts refuses a config without one).
    publishableKey: keyring.publishableKey as pulumi.Output<string>,
    secretKey: keyring.secretKey as pulumi.Output<string>,
    apiKeys: keyring.apiKeysByName,
    anonKey: keyring.anonKey,
    serviceRoleKey: keyring.serviceRoleKey,
    legacyAnonKey: keyring.legacyAnonKey,
    legacyServiceRoleKey: keyring.legacyServiceRoleKey,
    // The dashboard (studio, behind kong's basic-auth at apiUrl) exists only with `studio: true`.
    dashboardUsername: config.studio ? text(config.dashboardUsername) : undefined,
    dashboardPassword: stack.dashboardPassword,
    // S3-protocol access to storage: the endpoint and region S3 clients use, and the key pair they sign with.
    storageS3Url: text(`${config.apiExternalUrl}/storage/v1/s3`),
    storageS3Region: text(storageRegion(config.storage)),
    storageS3AccessKeyId: stack.generated.s3ProtocolAccessKeyId,
    storageS3SecretAccessKey: stack.generated.s3ProtocolAccessKeySecret,
    // The pooler's connection strings exist only with `pooler.enabled`.
    poolerSessionUrl: pooler ? text(poolerConnectionString(poolerAt, "session")) : undefined,
    poolerTransactionUrl: pooler ? text(poolerConnectionString(poolerAt, "transaction")) : undefined,
    postgresPassword: stack.generated.postgresPassword,
    kubernetesNamespace: stack.namespaceName,
  };
}
