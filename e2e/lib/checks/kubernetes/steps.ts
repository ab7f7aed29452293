/**
 * The checks after each lifecycle step on the suite's cluster, from the cluster itself and from the state file:
 * which workloads rolled, what the Secrets hold, the keyring in them, the state's encryption, the NetworkPolicies.
 */
import type { Jwks } from "../../../../components/keyring/model";
import { RESOURCE_TYPES } from "../../../../components/targets/resourceTypes";
import type { CheckNamer, Recorder } from "../../core/report";
import type { KubeApi } from "../../engines/kubernetes/api";
import {
  allStrings,
  isEncryptedSecret,
  resourceName,
  type StackState,
  type StateResource,
} from "../../engines/pulumi/state";
import { parsePublicJwks, sameSet } from "../expected";
import { authSigningKeysVerdict, verifierJwksVerdict } from "../signingKeys";
import { secretValues } from "../stateFile";
import { containedIn, secretText, serviceEnv, type WorkloadState } from "./observe";

/** What one step's checks read: the cluster, the stack's namespace, its state and outputs. */
export interface KubernetesStep {
  rec: Recorder;
  name: CheckNamer;
  api: KubeApi;
  namespace: string;
  state: StackState;
  outputs: Record<string, unknown>;
}

/** The decrypted state resources of one type. */
const ofType = (state: StackState, type: string): StateResource[] => state.decrypted.filter((r) => r.type === type);

/** The object name a state resource declares (`inputs.metadata.name`). */
const declaredName = (r: StateResource): string =>
  String((r.inputs?.metadata as { name?: string } | undefined)?.name ?? resourceName(r.urn));

/**
 * `k8s:rolled-as-predicted`: the workloads whose revision changed in the step are the ones the mock engine
 * predicts (testkit/blastRadius.ts on the Kubernetes target), and every workload runs its latest template, ready.
 */
export function checkRolledAsPredicted(
  step: Pick<KubernetesStep, "rec" | "name">,
  rolled: string[],
  predicted: readonly string[],
  after: Map<string, WorkloadState>,
): void {
  const same = sameSet(rolled, predicted);
  const notReady = [...after].filter(([, w]) => !w.ready).map(([n]) => n);
  const revisions = [...after].map(([n, w]) => `${n} ${w.detail}`).join(", ");
  step.rec.check(
    step.name("k8s:rolled-as-predicted"),
    same.ok && notReady.length === 0,
    `rolled [${rolled.join(", ")}], predicted [${predicted.join(", ")}]` +
      (same.ok ? "" : ` (${same.detail})`) +
      (notReady.length ? `; not ready: ${notReady.join(", ")}` : "") +
      `; ${revisions}`,
  );
}

/**
 * What a Secret resource's inputs hold, as text. The provider records `stringData` as base64 `data` in the inputs
 * it keeps (pulumi/pulumi-kubernetes provider/pkg/clients/unstructured.go, normalizeSecret: stringData folded into
 * data), so either may be there.
 */
export function secretInputText(inputs: Record<string, unknown> | undefined): Record<string, string> {
  const data = (inputs?.data ?? {}) as Record<string, string>;
  const decoded = Object.entries(data).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]);
  return { ...Object.fromEntries(decoded), ...((inputs?.stringData ?? {}) as Record<string, string>) };
}

/** `k8s:secrets-as-state`: every Secret the state declares holds in the cluster exactly the data the state records. */
export async function checkSecretsAsState({ rec, name, api, namespace, state }: KubernetesStep): Promise<void> {
  await rec.attempt(name("k8s:secrets-as-state"), async () => {
    const declared = ofType(state, RESOURCE_TYPES.secret);
    if (!declared.length) throw new Error("the state declares no Secret");
    const problems: string[] = [];
    for (const r of declared) {
      const secretName = declaredName(r);
      const want = secretInputText(r.inputs);
      if (!Object.keys(want).length) problems.push(`${secretName} records no data in the state`);
      const found = await api.find("Secret", namespace, secretName);
      if (!found) {
        problems.push(`${secretName} is not in the cluster`);
        continue;
      }
      const got = secretText(found);
      const differs = [...new Set([...Object.keys(want), ...Object.keys(got)])].filter((k) => want[k] !== got[k]);
      if (differs.length) problems.push(`${secretName} differs in ${differs.join(", ")}`);
    }
    if (problems.length) throw new Error(problems.join("; "));
    return `${declared.length} Secrets hold what the state records, key for key`;
  });
}

/**
 * `k8s:auth-one-private-key` and `k8s:verifiers-jwks-as-published`: auth's env Secret holds one private key, the
 * current one; rest's, realtime's and storage's hold the published JWKS without a private member.
 */
export async function checkKeyringInSecrets({ rec, name, api, namespace, outputs }: KubernetesStep): Promise<void> {
  const published: Jwks = parsePublicJwks(String(outputs.jwks), "stack output jwks");
  await rec.attempt(name("k8s:auth-one-private-key"), async () =>
    authSigningKeysVerdict((await serviceEnv(api, namespace, "auth")).GOTRUE_JWT_KEYS, outputs.currentKid, published),
  );
  const envs = Object.fromEntries(
    await Promise.all(
      (["rest", "realtime", "storage"] as const).map(async (r) => [r, await serviceEnv(api, namespace, r)]),
    ),
  ) as Record<"rest" | "realtime" | "storage", Record<string, string>>;
  await rec.attempt(name("k8s:verifiers-jwks-as-published"), () =>
    verifierJwksVerdict((role) => envs[role], published),
  );
}

/**
 * The payloads of a Secret resource as the state stores them that are not encrypted: its inputs' `data` or
 * `stringData` (which must be there), the outputs' `data`, and the inputs the provider keeps among the outputs
 * (`__inputs`, what it last applied).
 */
export function unencryptedPayloads(r: StateResource): string[] {
  const payloadOf = (o: Record<string, unknown> | undefined) => o?.data ?? o?.stringData;
  const lastApplied = r.outputs?.__inputs as Record<string, unknown> | undefined;
  const payloads: Array<[string, unknown]> = [
    ["inputs", payloadOf(r.inputs)],
    ["outputs", r.outputs?.data],
    ["last-applied inputs", payloadOf(lastApplied)],
  ];
  const name = resourceName(r.urn);
  if (payloads[0][1] === undefined) return [`${name} has no data in its inputs`];
  return payloads
    .filter(([, value]) => value !== undefined && !isEncryptedSecret(value))
    .map(([where]) => `${name} data in its ${where} is not encrypted`);
}

/**
 * `k8s:secrets-encrypted`: the state file holds no secret value in plain text (private key members, role JWTs,
 * passwords, `sb_` keys), every Secret's data is encrypted in it, and `--show-secrets` reads them back.
 */
export async function checkStateEncrypted({ rec, name, state, outputs }: KubernetesStep): Promise<void> {
  await rec.attempt(name("k8s:secrets-encrypted"), () => {
    const problems: string[] = [];
    const plainResources = JSON.parse(state.plain) as { deployment: { resources?: StateResource[] } };
    for (const r of (plainResources.deployment.resources ?? []).filter((x) => x.type === RESOURCE_TYPES.secret))
      problems.push(...unencryptedPayloads(r));
    const secrets = secretValues(state.decrypted, outputs);
    const decryptedText = JSON.stringify(state.decrypted);
    for (const [value, what] of secrets) {
      // A Secret's data is base64: a value held whole by one key would show in the plain text in that form.
      if (state.plain.includes(value) || state.plain.includes(Buffer.from(value).toString("base64")))
        problems.push(`${what} is in the state in plain text`);
      if (!decryptedText.includes(value)) problems.push(`${what} is not readable with --show-secrets`);
    }
    if (allStrings(JSON.parse(state.plain)).some((s) => /"d"\s*:\s*"/.test(s)))
      problems.push("a private JWK member is in the state in plain text");
    if (problems.length) throw new Error(problems.join("; "));
    return `${secrets.size} secret values only encrypted; every Secret's data encrypted`;
  });
}

/** `k8s:network-policies-as-declared`: the namespace's NetworkPolicies are the state's, each spec as declared. */
export async function checkNetworkPolicies({ rec, name, api, namespace, state }: KubernetesStep): Promise<void> {
  await rec.attempt(name("k8s:network-policies-as-declared"), async () => {
    const declared = ofType(state, RESOURCE_TYPES.networkPolicy);
    const actual = new Map((await api.list("NetworkPolicy", namespace)).map((p) => [p.metadata.name, p]));
    const same = sameSet(declared.map(declaredName), [...actual.keys()]);
    if (!declared.length) throw new Error("the state declares no NetworkPolicy");
    if (!same.ok) throw new Error(`declared vs in the cluster: ${same.detail}`);
    const differing = declared.filter((r) => !containedIn(r.inputs?.spec, actual.get(declaredName(r))?.spec));
    if (differing.length)
      throw new Error(`specs differ from the declared ones: ${differing.map(declaredName).join(", ")}`);
    return `${declared.length} NetworkPolicies, each as declared: ${declared.map(declaredName).join(", ")}`;
  });
}

/** Every check of a step that reads the cluster's objects and the state file. */
export async function checkStepObjects(step: KubernetesStep): Promise<void> {
  await checkSecretsAsState(step);
  await checkKeyringInSecrets(step);
  await checkStateEncrypted(step);
  await checkNetworkPolicies(step);
}
