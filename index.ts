// Self-hosted Supabase with asymmetric JWT signing keys: config → keyring → containers → outputs.
import { deploymentOutputs } from "./components/package/outputs";
import { supabaseProgram } from "./components/program";

// The stack outputs are the Supabase component's outputs too: components/package/outputs.ts says what each holds
// (the dashboard's only with `studio`, the pooler's connection strings only with `pooler.enabled`).
const outputs = deploymentOutputs(supabaseProgram());

export const apiUrl = outputs.apiUrl;
export const jwksUrl = outputs.jwksUrl;
export const currentKid = outputs.currentKid;
export const jwks = outputs.jwks;
export const publishableKey = outputs.publishableKey;
export const secretKey = outputs.secretKey;
export const apiKeys = outputs.apiKeys;
export const anonKey = outputs.anonKey;
export const serviceRoleKey = outputs.serviceRoleKey;
export const legacyAnonKey = outputs.legacyAnonKey;
export const legacyServiceRoleKey = outputs.legacyServiceRoleKey;
export const dashboardUsername = outputs.dashboardUsername;
export const dashboardPassword = outputs.dashboardPassword;
export const storageS3Url = outputs.storageS3Url;
export const storageS3Region = outputs.storageS3Region;
export const storageS3AccessKeyId = outputs.storageS3AccessKeyId;
export const storageS3SecretAccessKey = outputs.storageS3SecretAccessKey;
export const poolerSessionUrl = outputs.poolerSessionUrl;
export const poolerTransactionUrl = outputs.poolerTransactionUrl;
export const postgresPassword = outputs.postgresPassword;
export const kubernetesNamespace = outputs.kubernetesNamespace;
