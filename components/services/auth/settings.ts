/**
 * auth's settings: the app it redirects to, sign-up policy, mail and OAuth providers. The defaults are the official
 * self-hosted `.env.example`'s, except where noted.
 */
import { baseUrl, flag, httpUrl, list, map, must, object, port, text } from "../../schema/fields";
import { defineSetting, type SettingsValues } from "../../schema/setting";

/**
 * The OAuth providers auth knows, by the name its configuration uses (supabase/auth `internal/conf/configuration.go`,
 * `ProviderConfiguration`); `GOTRUE_EXTERNAL_<NAME>_*` configures each.
 */
export const OAUTH_PROVIDERS = [
  "apple",
  "azure",
  "bitbucket",
  "discord",
  "facebook",
  "figma",
  "fly",
  "github",
  "gitlab",
  "google",
  "kakao",
  "keycloak",
  "linkedin",
  "linkedin_oidc",
  "notion",
  "slack",
  "slack_oidc",
  "snapchat",
  "spotify",
  "twitch",
  "twitter",
  "vercel_marketplace",
  "workos",
  "x",
  "zoom",
] as const;

/** auth's own default SMTP port (supabase/auth `internal/conf/configuration.go`, `SMTPConfiguration`). */
export const DEFAULT_SMTP_PORT = 587;

const HOST_NAME = /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/;
const EMAIL = /^[^\s@<>]+@[^\s@<>]+$/;

/**
 * A redirect target auth may send users to: a URL of any scheme that opens a site or an app (mobile deep links such
 * as `com.example.app://callback` included, `javascript:` and the like not), optionally with auth's globs (`*`,
 * `**`); auth reads the list comma-separated (`GOTRUE_URI_ALLOW_LIST`), so a comma cannot be part of one.
 */
export function isRedirectUrl(value: string): boolean {
  if (/[\s,]/.test(value) || !/^[A-Za-z][A-Za-z0-9+.-]*:/.test(value)) return false;
  // Schemes that run or embed content instead of opening an app: a redirect to one is script injection.
  if (/^(javascript|data|vbscript|file|blob|about):/i.test(value)) return false;
  try {
    const url = new URL(value);
    return (url.protocol !== "http:" && url.protocol !== "https:") || url.host !== "";
  } catch {
    return false;
  }
}

const REDIRECT_URL = "a URL such as https://app.example.com/** or com.example.app://callback (no spaces or commas)";
const redirectUrl = text({ expected: REDIRECT_URL, type: "URL" }).refine(isRedirectUrl, must(REDIRECT_URL));

const smtp = object(
  {
    host: text(
      {
        pattern: HOST_NAME,
        expected: "a host name or IP address (not a URL), e.g. smtp.example.com",
        type: "host name",
      },
      { required: ": the SMTP server's host name, e.g. smtp.example.com" },
    ).describe("`GOTRUE_SMTP_HOST` (`SMTP_HOST`)"),
    port: port()
      .default(DEFAULT_SMTP_PORT)
      .meta({ "x-default": `\`${DEFAULT_SMTP_PORT}\` (auth's own default)` })
      .describe("`GOTRUE_SMTP_PORT`"),
    user: text().optional().describe("`GOTRUE_SMTP_USER`"),
    pass: text(
      { expected: "the SMTP password as text (set it with `pulumi config set --secret --path 'auth.smtp.pass' …`)" },
      { secret: true },
    )
      .optional()
      .describe("`GOTRUE_SMTP_PASS`"),
    adminEmail: text(
      { pattern: EMAIL, expected: "an email address such as admin@example.com", type: "email address" },
      { required: ": the address auth's mails come from, e.g. admin@example.com" },
    ).describe("`GOTRUE_SMTP_ADMIN_EMAIL`: the sender of every mail"),
    senderName: text().optional().describe("`GOTRUE_SMTP_SENDER_NAME`"),
  },
  "{host: smtp.example.com, port: 587, user: …, pass: …, adminEmail: admin@example.com}",
);

const provider = object(
  {
    clientId: text(
      { pattern: /^\S+$/, expected: "the OAuth client id (no spaces; several are comma-separated)" },
      { required: ": the OAuth client id the provider issued" },
    ).describe(
      "`GOTRUE_EXTERNAL_<NAME>_CLIENT_ID` (`GOOGLE_CLIENT_ID`, …); listing a provider enables it (`_ENABLED`)",
    ),
    secret: text(
      {},
      {
        secret: true,
        required:
          ": the client secret; set it with `pulumi config set --secret --path 'auth.externalProviders.<name>.secret' …`",
      },
    )
      .meta({ "x-default": "required per provider" })
      .describe("`GOTRUE_EXTERNAL_<NAME>_SECRET`"),
    redirectUri: httpUrl()
      .optional()
      .meta({ "x-default": "`<apiExternalUrl>/auth/v1/callback`" })
      .describe("`GOTRUE_EXTERNAL_<NAME>_REDIRECT_URI`: register this URL with the provider"),
    url: httpUrl()
      .optional()
      .describe(
        "`GOTRUE_EXTERNAL_<NAME>_URL`: the provider's own base URL, for those that need one (Keycloak's realm, a " +
          "GitLab server, an Azure tenant, WorkOS)",
      ),
  },
  "{clientId: …, secret: …, redirectUri: …}",
);

/** The providers' map: each key an OAuth provider auth knows, each value that provider's client. */
const externalProviders = map(
  provider,
  "a map of provider name to {clientId, secret, redirectUri?}, e.g. {google: {clientId: …, secret: …}}",
  { values: OAUTH_PROVIDERS, noun: "an OAuth provider auth knows" },
).default({});

/** `auth`: sign-up policy, mail and OAuth providers. */
const authObject = object(
  {
    disableSignup: flag().default(false).describe("`GOTRUE_DISABLE_SIGNUP` (`DISABLE_SIGNUP`)"),
    mailerAutoconfirm: flag()
      .default(false)
      .describe("`GOTRUE_MAILER_AUTOCONFIRM` (`ENABLE_EMAIL_AUTOCONFIRM`): confirm addresses without a mail"),
    additionalRedirectUrls: list(
      redirectUrl,
      "a list of URLs (set each with --path 'auth.additionalRedirectUrls[0]' …)",
    )
      .default([])
      .meta({ "x-type": "list of URLs" })
      .describe(
        "`GOTRUE_URI_ALLOW_LIST` (`ADDITIONAL_REDIRECT_URLS`): where auth may redirect besides `siteUrl`. Any " +
          "scheme, so mobile deep links (`com.example.app://login-callback`) work; auth's globs (`*`, `**`) are " +
          "allowed; no spaces or commas",
      ),
    anonymousUsers: flag()
      .default(false)
      .describe("`GOTRUE_EXTERNAL_ANONYMOUS_USERS_ENABLED` (`ENABLE_ANONYMOUS_USERS`)"),
    smtp: smtp.optional(),
    externalProviders,
  },
  "{disableSignup: true, smtp: {host: …, adminEmail: …}}",
).prefault({});

/** Every setting of auth. */
export const AUTH_SETTINGS = [
  defineSetting({
    key: "siteUrl",
    schema: baseUrl("http://localhost:3000").default("http://localhost:3000"),
    type: "http(s) URL",
    doc: "your app (auth redirects)",
  }),
  defineSetting({
    key: "auth",
    schema: authObject,
    type: "object",
    default: "sign-up open, no SMTP",
    doc:
      "auth's `disableSignup`, `mailerAutoconfirm`, `additionalRedirectUrls` (list, deep links allowed), " +
      "`anonymousUsers`, `smtp {host, port, user, pass (secret), adminEmail, senderName}`, " +
      "`externalProviders {<name>: {clientId, secret (secret), redirectUri?, url?}}`",
    details: "docs/configuration.md#auth",
  }),
] as const;

/** auth's validated settings. */
export type AuthSettings = SettingsValues<typeof AUTH_SETTINGS>;
/** The `auth` object, defaults applied. */
export type AuthConfig = AuthSettings["auth"];
/** An SMTP server auth sends its mail through (`auth.smtp`). */
export type SmtpConfig = NonNullable<AuthConfig["smtp"]>;
/** One OAuth provider of auth (`auth.externalProviders.<name>`). */
export type ExternalProviderConfig = NonNullable<AuthConfig["externalProviders"][(typeof OAUTH_PROVIDERS)[number]]>;
