/** db's settings: an adopted superuser password, and publishing Postgres on the Docker host. */
import * as z from "zod";
import { flag, hostAddress, listensOnEveryAddress, must, object, port, text } from "../../schema/fields";
import { configKey } from "../../schema/project";
import { defineSetting, type SettingsValues } from "../../schema/setting";

/** Where the services find Postgres: the db container's network alias and the image's defaults. */
export const POSTGRES = { host: "db", port: 5432, database: "postgres" } as const;

/** The shortest adopted superuser password accepted: every service role logs in with it. */
export const POSTGRES_PASSWORD_MIN_LENGTH = 16;

/** Where `database.publish` puts Postgres when it names no host or port: the host's loopback, Postgres's port. */
export const DATABASE_PUBLISH_DEFAULTS = { host: "127.0.0.1", port: POSTGRES.port } as const;

/** `database.publish`: `true` (the defaults), `false`, or `{host, port}`. */
const publish = z.union(
  [
    flag().transform((on) => (on ? { ...DATABASE_PUBLISH_DEFAULTS } : undefined)),
    object(
      {
        host: hostAddress()
          .default(DATABASE_PUBLISH_DEFAULTS.host)
          .describe(
            "the host address to listen on: an IP address (`127.0.0.1` or `::1` for the host only, `0.0.0.0` for " +
              "every network)",
          ),
        port: port()
          .default(DATABASE_PUBLISH_DEFAULTS.port)
          .describe(
            "the host port, not `gatewayHttpPort`, nor a port of the pooler on the same address (its `sessionPort` " +
              "is 5432 by default)",
          ),
      },
      "{host: 127.0.0.1, port: 5432}",
    ),
  ],
  must("true, false or {host, port}"),
);

/** Every setting of db. */
export const DB_SETTINGS = [
  defineSetting({
    key: "postgresPassword",
    schema: text(
      {
        pattern: /^[^\u0000\r\n]+$/,
        minLength: POSTGRES_PASSWORD_MIN_LENGTH,
        expected:
          `a password of at least ${POSTGRES_PASSWORD_MIN_LENGTH} characters, without line breaks or NUL (it goes ` +
          "into SQL and connection strings, and whoever guesses it owns the database)",
      },
      { secret: true },
    ).optional(),
    type: "secret string",
    default: "generated, one per role",
    doc:
      "one password for the superuser and every service role: adopt an existing data volume, keep the passwords " +
      "valid across `pulumi destroy` and a fresh `pulumi up`",
    details: "docs/configuration.md#postgrespassword",
  }),
  defineSetting({
    key: "database",
    schema: object(
      {
        publish: publish
          .optional()
          .meta({ "x-type": "`true` \\| `{host, port}`" })
          .describe("put Postgres on the Docker host (`127.0.0.1:5432` by default)"),
        dataVolume: text({
          pattern: /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/,
          expected: "a Docker volume name (letters, digits, _ . -)",
          type: "volume name",
        })
          .optional()
          .describe(
            "the Docker volume db's data lives in, instead of `<instanceName>-db-data`: `npm run restore` sets it to " +
              "the volume it restored into (the one before is kept; set it back to roll back)",
          ),
      },
      "{publish: {host: 127.0.0.1, port: 5432}}",
    ).prefault({}),
    type: "`{publish: true \\| {host, port}, dataVolume}`",
    default: "not published, `<instanceName>-db-data`",
    doc:
      "`publish` puts Postgres on the Docker host (`127.0.0.1:5432` by default); read the security trade-off first. " +
      "`dataVolume`: the volume db's data lives in (a restore's)",
    details: "docs/configuration.md#databasepublish",
  }),
] as const;

/** A warning when Postgres is published on every address of the Docker host (the default is its loopback). */
export function databasePublishWarnings(database: DatabaseConfig): string[] {
  const host = database.publish?.host;
  if (host === undefined || !listensOnEveryAddress(host)) return [];
  return [
    `${configKey("database.publish.host")} is ${host}: Postgres itself (no API key, only role passwords, no TLS) is ` +
      "published on every network the Docker host is on. Use 127.0.0.1 and an ssh tunnel unless clients on other " +
      "hosts must reach it, and then restrict them with the host's firewall.",
  ];
}

/** db's validated settings. */
export type DbSettings = SettingsValues<typeof DB_SETTINGS>;
/** Access to Postgres from outside the stack network (`database`). */
export type DatabaseConfig = DbSettings["database"];
