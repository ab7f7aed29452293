/**
 * The real-engine suite's judgements on the cluster, fed what the API server answers: which workloads rolled between
 * two observations, whether a declared spec is in the one the server returns (with its defaults), a Secret's data,
 * the rollout verdict, the keyring verdicts shared with the Docker target, and the zero-failed-requests check.
 */
import { describe, expect, it } from "vitest";
import { checkRolledAsPredicted, secretInputText, unencryptedPayloads } from "../../e2e/lib/checks/kubernetes/steps";
import {
  DEPLOYMENT_REVISION,
  containedIn,
  rolledBetween,
  secretText,
  type WorkloadState,
} from "../../e2e/lib/checks/kubernetes/observe";
import { recordProbe, type ProbeTally } from "../../e2e/lib/checks/requestProbe";
import { authSigningKeysVerdict, verifierJwksVerdict } from "../../e2e/lib/checks/signingKeys";
import { Recorder } from "../../e2e/lib/core/report";

const deployment = (revision: string, ready = true): WorkloadState => ({
  kind: "Deployment",
  revision,
  ready,
  detail: `revision ${revision}`,
});

/** A Recorder that keeps its checks without printing them. */
class QuietRecorder extends Recorder {
  override check(name: string, ok: boolean, detail: string): boolean {
    this.checks.push({ name, ok, detail });
    return ok;
  }
}
const quietRecorder = () => new QuietRecorder();

describe("what rolled on the cluster", () => {
  it("names the workloads whose revision changed and those that are new", () => {
    const before = new Map([
      ["auth", deployment("1")],
      ["kong", deployment("1")],
      ["db", { kind: "StatefulSet", revision: "db-5d8f", ready: true, detail: "db-5d8f" } as WorkloadState],
    ]);
    const after = new Map([
      ["auth", deployment("2")],
      ["kong", deployment("1")],
      ["db", { kind: "StatefulSet", revision: "db-5d8f", ready: true, detail: "db-5d8f" } as WorkloadState],
      ["studio", deployment("1")],
    ]);
    expect(rolledBetween(before, after)).toEqual({ rolled: ["auth"], created: ["studio"] });
    expect(DEPLOYMENT_REVISION).toBe("deployment.kubernetes.io/revision");
  });

  it("passes only when the rolled set is the predicted one and every workload is ready", () => {
    const rec = quietRecorder();
    const name = (c: string) => `${c}:S2:ES256`;
    const ready = new Map([
      ["auth", deployment("2")],
      ["kong", deployment("1")],
    ]);
    checkRolledAsPredicted({ rec, name }, ["auth"], ["auth"], ready);
    checkRolledAsPredicted({ rec, name }, ["auth", "kong"], ["auth"], ready);
    checkRolledAsPredicted({ rec, name }, ["auth"], ["auth"], new Map([["auth", deployment("2", false)]]));
    expect(rec.checks.map((c) => c.ok)).toEqual([true, false, false]);
    expect(rec.checks[0].name).toBe("k8s:rolled-as-predicted:S2:ES256");
    expect(rec.checks[1].detail).toContain("only first: [kong]");
    expect(rec.checks[2].detail).toContain("not ready: auth");
  });
});

describe("a declared spec in the server's answer", () => {
  it("is contained when every declared field is there, whatever defaults the server added", () => {
    const declared = { podSelector: { matchLabels: { a: "1" } }, ingress: [{ ports: [{ port: 5432 }] }] };
    const actual = {
      podSelector: { matchLabels: { a: "1" } },
      ingress: [{ ports: [{ port: 5432, protocol: "TCP" }] }],
      policyTypes: ["Ingress"],
    };
    expect(containedIn(declared, actual)).toBe(true);
    expect(containedIn({ ...declared, ingress: [{ ports: [{ port: 5433 }] }] }, actual)).toBe(false);
    // A rule the server lacks (or has more of) is a difference, not a default.
    expect(containedIn({ ingress: [{}, {}] }, actual)).toBe(false);
    expect(containedIn({ podSelector: { matchLabels: { b: "2" } } }, actual)).toBe(false);
  });

  it("reads a Secret's data from base64", () => {
    const secret = { metadata: { name: "auth-env" }, data: { A: Buffer.from("é=1").toString("base64") } };
    expect(secretText(secret as never)).toEqual({ A: "é=1" });
    expect(secretText({ metadata: { name: "empty" } } as never)).toEqual({});
  });
});

describe("a Secret as the state records it", () => {
  const sealed = { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", ciphertext: "v1:abc" };
  const urn = "urn:pulumi:s::p::kubernetes:core/v1:Secret::supabase-auth-env";

  it("reads its data from the inputs, where the provider folds stringData into base64 data", () => {
    expect(secretInputText({ data: { A: Buffer.from("x=1").toString("base64") } })).toEqual({ A: "x=1" });
    expect(secretInputText({ stringData: { B: "y" } })).toEqual({ B: "y" });
    expect(secretInputText(undefined)).toEqual({});
  });

  it("names every payload left in plain text: inputs, outputs and the last-applied inputs", () => {
    const inputs = { data: sealed };
    expect(unencryptedPayloads({ urn, type: "", inputs, outputs: { data: sealed, __inputs: inputs } })).toEqual([]);
    expect(
      unencryptedPayloads({ urn, type: "", inputs, outputs: { data: { A: "eA==" }, __inputs: { stringData: {} } } }),
    ).toEqual([
      "supabase-auth-env data in its outputs is not encrypted",
      "supabase-auth-env data in its last-applied inputs is not encrypted",
    ]);
    expect(unencryptedPayloads({ urn, type: "", inputs: {} })).toEqual(["supabase-auth-env has no data in its inputs"]);
  });
});

describe("the keyring in the services' environments", () => {
  const k1 = { kty: "EC", kid: "k1", crv: "P-256", x: "x1", y: "y1" };
  const k2 = { kty: "EC", kid: "k2", crv: "P-256", x: "x2", y: "y2" };
  const published = { keys: [k1, k2] };

  it("accepts auth's keys with one private key, the current one, and refuses two or the wrong one", () => {
    const authKeys = (...keys: object[]) => JSON.stringify(keys);
    expect(authSigningKeysVerdict(authKeys({ ...k1, d: "secret" }, k2), "k1", published as never)).toContain(
      "one private key (k1",
    );
    expect(() =>
      authSigningKeysVerdict(authKeys({ ...k1, d: "s" }, { ...k2, d: "t" }), "k1", published as never),
    ).toThrow("2 private keys");
    expect(() => authSigningKeysVerdict(authKeys({ ...k1, d: "s" }, k2), "k2", published as never)).toThrow(
      "current is k2",
    );
    expect(() => authSigningKeysVerdict(authKeys({ ...k1, d: "s" }), "k1", published as never)).toThrow(
      "differ from the published JWKS",
    );
  });

  it("accepts verifiers given the published JWKS and refuses a private member or another set", () => {
    const envs = { rest: "PGRST_JWT_SECRET", realtime: "API_JWT_JWKS", storage: "JWT_JWKS" } as const;
    const given = (jwks: object) => (role: keyof typeof envs) => ({ [envs[role]]: JSON.stringify(jwks) });
    expect(verifierJwksVerdict(given(published), published as never)).toContain("[k1, k2]");
    expect(() => verifierJwksVerdict(given({ keys: [{ ...k1, d: "s" }, k2] }), published as never)).toThrow(
      "private members",
    );
    expect(() => verifierJwksVerdict(given({ keys: [k1] }), published as never)).toThrow("not the published JWKS");
  });
});

describe("the requests during an update", () => {
  const tally = (over: Partial<ProbeTally>): ProbeTally => ({
    requests: 500,
    failures: 0,
    seconds: 20,
    perSecond: 25,
    examples: [],
    ...over,
  });

  it("on Kubernetes passes with no failure at 20 requests a second or more, and records both figures", () => {
    const rec = quietRecorder();
    const metrics: Record<string, number> = {};
    const at = { target: "kubernetes" as const, step: "S2 promote", algorithm: "ES256" };
    recordProbe(rec, metrics, at, tally({}));
    recordProbe(rec, metrics, at, tally({ failures: 1, examples: ["/health: 503"] }));
    recordProbe(rec, metrics, at, tally({ requests: 100, perSecond: 5 }));
    expect(rec.checks.map((c) => [c.name, c.ok])).toEqual([
      ["k8s:zero-failed-requests:S2:ES256", true],
      ["k8s:zero-failed-requests:S2:ES256", false],
      ["k8s:zero-failed-requests:S2:ES256", false],
    ]);
    expect(metrics["requestsDuringUpdate:kubernetes:S2:ES256"]).toBe(100);
    expect(metrics["failedRequestsDuringUpdate:kubernetes:S2:ES256"]).toBe(0);
  });

  it("on Docker records the figure beside it, since the step recreates auth's container", () => {
    const rec = quietRecorder();
    const metrics: Record<string, number> = {};
    recordProbe(rec, metrics, { target: "docker", step: "S2 promote", algorithm: "ES256" }, tally({ failures: 17 }));
    expect(rec.checks[0]).toMatchObject({ name: "docker:failed-requests:S2:ES256", ok: true });
    expect(rec.checks[0].detail).toContain("17 failed");
    expect(metrics["failedRequestsDuringUpdate:docker:S2:ES256"]).toBe(17);
  });
});
