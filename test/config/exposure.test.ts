/**
 * What a reviewer would flag in a config: Postgres or the pooler on every address (a warning naming the risk), a
 * redirect URL that runs script, a weak adopted superuser password, and a port clash hidden behind another mistake.
 */
import { describe, expect, it } from "vitest";
import { parseConfig, settingsWarnings } from "../../components/config/parse";
import { problemsOf } from "../support/config";

const ok = { signingKeys: JSON.stringify([{ name: "k1", state: "current" }]) };
const json = (value: unknown) => JSON.stringify(value);

describe("publishing the database on every address", () => {
  it("warns for Postgres and for the pooler on 0.0.0.0 or ::, and stays quiet on the loopback", () => {
    const everywhere = parseConfig({
      ...ok,
      database: json({ publish: { host: "0.0.0.0", port: 5433 } }),
      pooler: json({ host: "::", sessionPort: 6432, transactionPort: 6544 }),
    });
    const warnings = settingsWarnings(everywhere, new Set());
    expect(warnings.some((w) => w.startsWith("supabase-selfhosted:database.publish.host is 0.0.0.0: Postgres"))).toBe(
      true,
    );
    expect(
      warnings.some((w) => w.startsWith("supabase-selfhosted:pooler.host is ::: the pooler's ports (6432, 6544)")),
    ).toBe(true);
    const loopback = parseConfig({
      ...ok,
      gatewayHost: "127.0.0.1",
      database: json({ publish: true }),
      pooler: json({ enabled: false }),
    });
    expect(settingsWarnings(loopback, new Set())).toEqual([]);
  });
});

describe("values that would be exploited", () => {
  it.each([
    "javascript:alert(document.cookie)",
    "JavaScript://%0aalert(1)",
    "data:text/html,<script>",
    "vbscript:msgbox",
  ])("refuses the redirect URL %s", (url) => {
    expect(problemsOf({ ...ok, auth: json({ additionalRedirectUrls: [url] }) })).toEqual([
      expect.stringMatching(/^supabase-selfhosted:auth\.additionalRedirectUrls\[0\]: must be a URL such as/),
    ]);
  });

  it("still accepts deep links and auth's globs", () => {
    const urls = ["com.example.app://login-callback", "https://*.example.com/**", "exp://192.168.1.2:19000"];
    expect(parseConfig({ ...ok, auth: json({ additionalRedirectUrls: urls }) }).auth.additionalRedirectUrls).toEqual(
      urls,
    );
  });
});

describe("every problem at once", () => {
  it("reports a port clash beside an unrelated mistake", () => {
    const problems = problemsOf({ ...ok, gatewayHttpPort: "6543", jwtExpiry: "soon" });
    expect(problems).toEqual([
      'supabase-selfhosted:jwtExpiry: must be a positive integer, got "soon"',
      "supabase-selfhosted:pooler.transactionPort: 6543 is already gatewayHttpPort's host port; each published port must differ (change one of them)",
    ]);
  });
});

describe("an apiExternalUrl without its scheme", () => {
  it("shows the whole value as written and the form expected, not a fragment of it", () => {
    const problems = problemsOf({ ...ok, apiExternalUrl: "localhost:8000" });
    expect(problems).toEqual([
      "supabase-selfhosted:apiExternalUrl: must be an absolute http(s) base URL such as http://localhost:8000 (no " +
        'query, fragment or credentials), got "localhost:8000"',
    ]);
  });
});
