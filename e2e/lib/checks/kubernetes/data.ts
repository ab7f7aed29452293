/**
 * The data after `pulumi destroy` on the cluster: the namespace and every claim kept, db's claim still bound to its
 * volume, and the database's files still in that volume's directory.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Recorder } from "../../core/report";
import type { KubeApi, KubeObject } from "../../engines/kubernetes/api";

/** db's data claim, as the StatefulSet controller names it from its claim template: `<template>-<set>-<ordinal>`. */
export const DB_DATA_CLAIM = "db-data-db-0";

/** Whether `dir` or a directory below it (at most `depth` levels) holds `file`. */
function holds(dir: string, file: string, depth = 3): boolean {
  if (fs.existsSync(path.join(dir, file))) return true;
  if (depth === 0 || !fs.existsSync(dir)) return false;
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .some((e) => e.isDirectory() && holds(path.join(dir, e.name), file, depth - 1));
}

/**
 * `k8s:data-after-destroy:<algorithm>`: after `pulumi destroy` the namespace and its claims are there, db's claim is
 * bound to its volume, and that volume's directory holds a Postgres data directory (PG_VERSION).
 */
export async function checkDataKept(rec: Recorder, name: string, api: KubeApi, namespace: string): Promise<void> {
  await rec.attempt(name, async () => {
    if (!(await api.find("Namespace", undefined, namespace))) throw new Error(`the namespace ${namespace} is gone`);
    const claims = await api.list("PersistentVolumeClaim", namespace);
    const phase = (c: KubeObject) => String((c.status as { phase?: string } | undefined)?.phase);
    const db = claims.find((c) => c.metadata.name === DB_DATA_CLAIM);
    if (!db) throw new Error(`no claim ${DB_DATA_CLAIM}; claims: ${claims.map((c) => c.metadata.name).join(", ")}`);
    if (phase(db) !== "Bound") throw new Error(`${DB_DATA_CLAIM} is ${phase(db)}`);
    const volumeName = String((db.spec as { volumeName?: string }).volumeName);
    const volume = await api.find("PersistentVolume", undefined, volumeName);
    const dir = (volume?.spec as { local?: { path?: string } } | undefined)?.local?.path;
    if (!dir || !holds(dir, "PG_VERSION")) throw new Error(`the volume ${volumeName} (${dir}) holds no PG_VERSION`);
    return (
      `the namespace and its claims kept (${claims.map((c) => `${c.metadata.name} ${phase(c)}`).join(", ")}); ` +
      `${DB_DATA_CLAIM} bound to ${volumeName}, whose directory holds the database`
    );
  });
}
