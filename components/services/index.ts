/**
 * The services the stack runs, in start order: adding a service is one module in this folder and one line in
 * {@link SERVICES}. Each later service may depend only on earlier ones.
 */
import { auth } from "./auth/auth";
import { backup } from "./backup/backup";
import { backupS3 } from "./backup/offsite";
import { db } from "./db/db";
import { functions } from "./functions/functions";
import { imgproxy } from "./imgproxy/imgproxy";
import { kong } from "./kong/kong";
import { meta } from "./meta/meta";
import { pooler } from "./pooler/pooler";
import { realtime } from "./realtime/realtime";
import { rest } from "./rest/rest";
import { defineRule } from "../schema/setting";
import { managedBy, type ServiceModule, type StackSettings } from "./service";
import type { ServicesConfig } from "./settings";
import { storage } from "./storage/storage";
import { tls } from "./tls/tls";
import { studio } from "./studio/studio";

/** Every service this program can run, in start order: db first, the gateway last. */
export const SERVICES = [
  db,
  backup,
  backupS3,
  auth,
  rest,
  realtime,
  imgproxy,
  storage,
  meta,
  studio,
  pooler,
  functions,
  kong,
  tls,
] as const;

/** A service's name, e.g. `auth`. */
export type ServiceRole = (typeof SERVICES)[number]["role"];

/** Every service's role, in start order. */
export const SERVICE_ROLES: readonly ServiceRole[] = SERVICES.map((service) => service.role);

/** The module of a role. */
export function serviceOf(role: string): ServiceModule {
  const service = SERVICES.find((s) => s.role === role);
  if (!service) throw new Error(`no service ${JSON.stringify(role)}; services: ${SERVICE_ROLES.join(", ")}`);
  return service as ServiceModule;
}

/**
 * The base URL a service answers on inside the stack network: its first DNS name and its port, e.g.
 * `http://rest:3000`. The gateway's upstreams and the services that call each other all use it.
 */
export function serviceUrl(role: string): string {
  const service = serviceOf(role);
  return `http://${service.aliases[0]}:${service.port}`;
}

/**
 * The services that run with these settings, in start order (`studio: false` drops studio and meta; the pooler,
 * imgproxy and functions run as their settings say).
 */
export function runningServices(settings: StackSettings): ServiceModule<ServiceRole>[] {
  const all: readonly ServiceModule<ServiceRole>[] = SERVICES;
  return all.filter((service) => service.runs?.(settings) ?? true);
}

/** `extraEnv` names a service of this stack for each entry, and no name the service's module manages. */
export const extraEnvRule = defineRule<ServicesConfig>({
  reads: ["extraEnv"],
  check({ extraEnv }, problems) {
    for (const [role, env] of Object.entries(extraEnv)) {
      if (!(SERVICE_ROLES as readonly string[]).includes(role)) {
        problems.add(`extraEnv.${role}`, `is not a service of this stack; services: ${SERVICE_ROLES.join(", ")}`);
        continue;
      }
      for (const name of Object.keys(env)) {
        const by = managedBy(serviceOf(role).env.managed, name);
        if (by !== undefined) {
          problems.add(`extraEnv.${role}.${name}`, `is set by the program from ${by}; extraEnv may not override it`);
        }
      }
    }
  },
});
