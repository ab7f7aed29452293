// Self-hosted Supabase with asymmetric JWT signing keys: config → keyring → containers → outputs.
import { supabaseProgram } from "./components/program";
import { JWKS_PATH } from "./components/services/kong/routes";
import { poolerConnectionString } from "./components/services/pooler/pooler";
import { storageRegion } from "./components/services/storage/storage";

const { config, keyring, stack } = supabaseProgram();

export const apiUrl = config.apiExternalUrl;
export const jwksUrl = `${config.apiExternalUrl}${JWKS_PATH}`;
export const currentKid = keyring.currentKid;
export const jwks = keyring.publicJwks.apply((set) => JSON.stringify(set));
export const publishableKey = keyring.publishableKey;
export const secretKey = keyring.secretKey;
// Every active API key by name (revoked keys are not in it); publishableKey and secretKey are each kind's first active one.
export const apiKeys = keyring.apiKeysByName;
export const anonKey = keyring.anonKey;
export const serviceRoleKey = keyring.serviceRoleKey;
export const legacyAnonKey = keyring.legacyAnonKey;
export const legacyServiceRoleKey = keyring.legacyServiceRoleKey;
// The dashboard (studio, behind kong's basic-auth at apiUrl) exists only with `studio: true`.
export const dashboardUsername = config.studio ? config.dashboardUsername : undefined;
export const dashboardPassword = stack.dashboardPassword;
// S3-protocol access to storage: the endpoint and region S3 clients use, and the generated key pair they sign with.
export const storageS3Url = `${config.apiExternalUrl}/storage/v1/s3`;
export const storageS3Region = storageRegion(config.storage);
export const storageS3AccessKeyId = stack.generated.s3ProtocolAccessKeyId;
export const storageS3SecretAccessKey = stack.generated.s3ProtocolAccessKeySecret;
// The pooler's connection strings (password left out: it is `postgresPassword`) exist only with `pooler.enabled`;
// on Kubernetes they name the pooler's Service as pods in the cluster reach it.
const pooler = "serviceHost" in stack ? { ...config.pooler, host: stack.serviceHost("pooler") } : config.pooler;
export const poolerSessionUrl = config.pooler.enabled ? poolerConnectionString(pooler, "session") : undefined;
export const poolerTransactionUrl = config.pooler.enabled ? poolerConnectionString(pooler, "transaction") : undefined;
// The superuser's password (`postgres`, `supabase_admin`): the configured `postgresPassword`, or the generated one.
export const postgresPassword = stack.generated.postgresPassword;
// On Kubernetes, the namespace every object of the stack is in (`kubectl -n "$(pulumi stack output kubernetesNamespace)"`).
export const kubernetesNamespace = "namespaceName" in stack ? stack.namespaceName : undefined;
