/**
 * Config errors never print a secret setting's value: they end up in CI logs and pull-request comments. Each case
 * gives a secret (a distinctive marker) in a wrong form or a wrong place and checks the problems name the key but
 * hold no part of the marker.
 */
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../components/config/parse";
import { ConfigError } from "../../components/schema/setting";

const MARKER = "SECRETMARKER7f3a9c";
const K1 = [{ name: "k1", state: "current" }];

/** The problems of a config given as values; the config must be refused. */
function problemsOf(settings: Record<string, unknown>): string[] {
  try {
    parseConfig(settings);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error("the config was accepted");
}

describe("a secret in the wrong form is named, never shown", () => {
  it.each<[string, Record<string, unknown>, string]>([
    [
      "an SMTP password given as a number",
      { auth: { smtp: { host: "m", adminEmail: "a@b.c", pass: 1234567 } } },
      "auth.smtp.pass",
    ],
    ["an SMTP block given as one text", { auth: { smtp: `smtp://user:${MARKER}@mail` } }, "auth.smtp"],
    [
      "an OAuth secret given as a list",
      { auth: { externalProviders: { github: { clientId: "c", secret: [MARKER] } } } },
      "auth.externalProviders.github.secret",
    ],
    [
      "an OAuth provider given as one text",
      { auth: { externalProviders: { github: `c:${MARKER}` } } },
      "auth.externalProviders.github",
    ],
    [
      "an S3 secret with a space",
      {
        storage: {
          backend: "s3",
          s3: { bucket: "files", region: "x", accessKeyId: "a", secretAccessKey: `${MARKER} x` },
        },
      },
      "storage.s3.secretAccessKey",
    ],
    ["S3 settings given as one text", { storage: { backend: "s3", s3: `files:${MARKER}` } }, "storage.s3"],
    [
      "an S3 endpoint with credentials",
      { storage: { backend: "s3", s3: { bucket: "files", endpoint: `https://key:${MARKER}@s3.example.com/path` } } },
      "storage.s3.endpoint",
    ],
    ["a short jwtSecret", { jwtSecret: MARKER }, "jwtSecret"],
    ["a postgresPassword with a line break", { postgresPassword: `${MARKER}\nx` }, "postgresPassword"],
    ["a legacy key that is not a JWT", { legacyHs256: true, legacyAnonKey: MARKER }, "legacyAnonKey"],
    [
      "a private JWK that is not JSON",
      { signingKeys: [{ name: "k1", state: "current", privateJwk: `{${MARKER}` }] },
      "signingKeys[0].privateJwk",
    ],
    ["a key entry given as one text", { signingKeys: [`k1:${MARKER}`] }, "signingKeys[0]"],
    [
      "an extraEnv secret given as an object",
      { extraEnv: { auth: { GOTRUE_HOOK_SECRETS: { v: MARKER } } } },
      "extraEnv.auth.GOTRUE_HOOK_SECRETS",
    ],
    ["a site URL with credentials", { siteUrl: `ftp://me:${MARKER}@app.example.com` }, "siteUrl"],
  ])("%s", (_case, settings, key) => {
    const problems = problemsOf({ signingKeys: K1, ...settings });
    expect(problems.some((p) => p.startsWith(`supabase-selfhosted:${key}: `))).toBe(true);
    for (const problem of problems) expect(problem).not.toContain(MARKER.slice(0, 12));
  });
});
