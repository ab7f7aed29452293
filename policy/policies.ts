/**
 * The CrossGuard policies of this project, as plain values so tests can call them without starting a policy pack
 * server (`index.ts` only wraps them in a `PolicyPack`).
 *
 * The Node policy SDK hands policies secret values unwrapped, so these check shapes only, and values that are not
 * known yet during a preview (the engine's unknown marker) are skipped rather than guessed.
 */
import type { Policies, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { isPinnedImage } from "../components/services/images";
import { UNKNOWN_INPUT } from "../components/keyring/engineValues";
import { LEGACY_KID, PRIVATE_MEMBERS } from "../components/keyring/model";
import { PROJECT } from "../components/schema/project";
import { RESOURCE_TYPES } from "../components/targets/resourceTypes";
import { RETAIN_LABEL } from "../components/targets/docker/naming";
import { deletesClaims, podImages, secretEntries, secretOwner } from "./kubernetes";

export { RETAIN_LABEL };

/** The policy pack's name, as `pulumi preview --policy-pack` reports it. */
export const PACK_NAME = PROJECT;

/** Resource types the policies look at. */
export const TYPES = RESOURCE_TYPES;

const isKnownString = (v: unknown): v is string => typeof v === "string" && v !== UNKNOWN_INPUT;

/** A container's role: `supabase-auth` → `auth`, from its Docker name or else its Pulumi resource name. */
export function containerRole(args: Pick<ResourceValidationArgs, "name" | "props">): string {
  const name = isKnownString(args.props.name) ? args.props.name : args.name;
  return name.slice(name.lastIndexOf("-") + 1);
}

/** `K=V` entries as [K, V]; entries that are unknown are skipped. */
function envEntries(envs: unknown): Array<[string, string]> {
  if (!Array.isArray(envs)) return [];
  return envs.filter(isKnownString).map((e) => {
    const eq = e.indexOf("=");
    return eq < 0 ? [e, ""] : [e.slice(0, eq), e.slice(eq + 1)];
  });
}

/** Every upload entry as an object; unknown lists or entries are skipped. */
function uploadsOf(uploads: unknown): Array<Record<string, unknown>> {
  return Array.isArray(uploads)
    ? uploads.filter((u): u is Record<string, unknown> => !!u && typeof u === "object")
    : [];
}

/**
 * Names of private JWK members found in a text: parsed as JSON and walked when it is JSON, else scanned for
 * `"kty"` next to a quoted private member name. An `oct` key's `k` counts unless it is the legacy HS256 key, which
 * every verifier holds anyway as its shared secret.
 */
export function privateJwkMembers(text: string): string[] {
  const found = new Set<string>();
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(visit);
    if (!value || typeof value !== "object") return;
    const obj = value as Record<string, unknown>;
    if (typeof obj.kty === "string") {
      for (const m of PRIVATE_MEMBERS) if (obj[m] !== undefined) found.add(m);
      if (obj.kty === "oct" && obj.k !== undefined && obj.kid !== LEGACY_KID) found.add("k");
    }
    Object.values(obj).forEach(visit);
  };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (parsed !== undefined && typeof parsed === "object") {
    visit(parsed);
  } else if (/"kty"\s*:/.test(text)) {
    for (const m of PRIVATE_MEMBERS) if (new RegExp(`"${m}"\\s*:\\s*"`).test(text)) found.add(m);
  }
  return [...found].sort();
}

/** Container images and pulled images name one immutable version. */
export const imagesPinned: ResourceValidationPolicy = {
  name: "images-pinned",
  description: "Container images are pinned to a version tag or digest (no latest, no missing tag).",
  enforcementLevel: "mandatory",
  validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
    const advice =
      "pin it to a version tag other than latest (e.g. supabase/gotrue:v2.196.0) or to a digest (@sha256:…)";
    if (args.type === TYPES.remoteImage) {
      const ref = args.props.name;
      if (isKnownString(ref) && !isPinnedImage(ref)) report(`image ${JSON.stringify(ref)} is not pinned: ${advice}.`);
    } else if (args.type === TYPES.container) {
      const image = args.props.image;
      // An image ID (what RemoteImage.imageId gives) is immutable by definition.
      if (isKnownString(image) && !image.startsWith("sha256:") && !isPinnedImage(image)) {
        report(`container ${containerRole(args)} runs image ${JSON.stringify(image)}, which is not pinned: ${advice}.`);
      }
    } else if (args.type === TYPES.deployment || args.type === TYPES.statefulSet) {
      for (const { name, image } of podImages(args.props)) {
        if (!isPinnedImage(image))
          report(`container ${name} runs image ${JSON.stringify(image)}, which is not pinned: ${advice}.`);
      }
    }
  },
};

/** Private key material stays in auth, the only service that signs. */
export const noPrivateJwkOutsideAuth: ResourceValidationPolicy = {
  name: "no-private-jwk-outside-auth",
  description:
    "No container (or Kubernetes Secret) but auth's gets a private JWK member (d, p, q, dp, dq, qi, oth, or an oct " +
    "k) in its env or files.",
  enforcementLevel: "mandatory",
  validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
    if (args.type === TYPES.secret) {
      const { name, role } = secretOwner(args.props, args.name);
      if (role === "auth") return;
      for (const [key, value] of secretEntries(args.props)) {
        const members = privateJwkMembers(value);
        if (members.length > 0) {
          report(`Secret ${name}: ${key} holds a private JWK (member ${members.join(", ")}); only auth may hold one.`);
        }
      }
      return;
    }
    if (args.type !== TYPES.container) return;
    const role = containerRole(args);
    if (role === "auth") return;
    for (const [key, value] of envEntries(args.props.envs)) {
      const members = privateJwkMembers(value);
      if (members.length > 0) {
        report(
          `container ${role}: env ${key} holds a private JWK (member ${members.join(", ")}); only auth ` +
            `may hold private ` +
            `key material. Give verifiers the public JWKS (verifierJwks) instead.`,
        );
      }
    }
    for (const upload of uploadsOf(args.props.uploads)) {
      const content = upload.content;
      const members = isKnownString(content) ? privateJwkMembers(content) : [];
      if (members.length > 0) {
        report(
          `container ${role}: uploaded file ${String(upload.file)} holds a private JWK ` +
            `(member ${members.join(", ")}); only auth may hold private key material.`,
        );
      }
    }
  },
};

/** Kong reads kong.yml from an uploaded file, so a remote Docker host needs nothing on its disk. */
export const kongConfigByUpload: ResourceValidationPolicy = {
  name: "kong-config-by-upload",
  description:
    "Kong's declarative config (KONG_DECLARATIVE_CONFIG) is shipped with the container's uploads, not a bind mount.",
  enforcementLevel: "mandatory",
  validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
    if (args.type !== TYPES.container || containerRole(args) !== "kong") return;
    if (!Array.isArray(args.props.envs)) return; // not known yet
    const path = envEntries(args.props.envs).find(([k]) => k === "KONG_DECLARATIVE_CONFIG")?.[1];
    if (path === undefined || path === "") {
      report(
        "container kong: KONG_DECLARATIVE_CONFIG is not set; kong must read its declarative config " +
          "from a file shipped " +
          "with uploads.",
      );
      return;
    }
    const dir = path.slice(0, path.lastIndexOf("/")) || "/";
    const covers = (target: unknown) =>
      isKnownString(target) && (target === path || target === dir || path.startsWith(`${target.replace(/\/+$/, "")}/`));
    for (const v of Array.isArray(args.props.volumes) ? args.props.volumes : []) {
      if (v && isKnownString(v.hostPath) && covers(v.containerPath)) {
        report(
          `container kong: ${String(v.containerPath)} is a bind mount of host path ${v.hostPath}; ship ${path} with ` +
            `uploads instead (a remote Docker host has no such file).`,
        );
      }
    }
    for (const m of Array.isArray(args.props.mounts) ? args.props.mounts : []) {
      if (m && m.type === "bind" && covers(m.target)) {
        report(
          `container kong: ${String(m.target)} is a bind mount; ship ${path} with uploads instead (a remote Docker ` +
            `host has no such file).`,
        );
      }
    }
    if (args.props.uploads === UNKNOWN_INPUT) return; // computed during a preview
    const upload = uploadsOf(args.props.uploads).find((u) => u.file === path);
    if (!upload) {
      report(
        `container kong: KONG_DECLARATIVE_CONFIG is ${path}, but no upload writes that file; add {file: ` +
          `${JSON.stringify(path)}, ` +
          `content: <kong.yml>} to uploads.`,
      );
    } else if (![upload.content, upload.contentBase64, upload.source].some((c) => typeof c === "string" && c !== "")) {
      report(`container kong: the upload of ${path} has no content; render kong.yml into its content.`);
    }
  },
};

/** The Postgres data volume and the backups survive `pulumi destroy` and any replacement. */
export const dbDataRetained: ResourceValidationPolicy = {
  name: "db-data-retained",
  description:
    `The db data volume and the backups volume are retained on delete (marked with the ${RETAIN_LABEL} label, or ` +
    "protected); on Kubernetes, db's StatefulSet keeps its claims when it is deleted.",
  enforcementLevel: "mandatory",
  validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
    if (args.type === TYPES.statefulSet) {
      if (deletesClaims(args.props)) {
        report(
          `StatefulSet ${args.name} holds the database: its persistentVolumeClaimRetentionPolicy.whenDeleted must ` +
            "be Retain, or deleting it deletes the data.",
        );
      }
      return;
    }
    if (args.type !== TYPES.volume) return;
    const name = isKnownString(args.props.name) ? args.props.name : args.name;
    const holdsData = /(^|[-_])(db[-_]data|backups)$/;
    if (!holdsData.test(name) && !holdsData.test(args.name)) return;
    if (args.opts.protect) return;
    const labels = Array.isArray(args.props.labels) ? args.props.labels : [];
    if (labels.some((l) => l && l.label === RETAIN_LABEL && l.value === "true")) return;
    report(
      `volume ${name} holds the database${/backups$/.test(args.name) ? "'s backups" : ""}: create it with the retainOnDelete resource option and the ` +
        `label ${RETAIN_LABEL}=true ` +
        `(policies cannot see resource options other than protect), or protect it.`,
    );
  },
};

/** Every policy of the pack. */
export const policies: Policies = [imagesPinned, noPrivateJwkOutsideAuth, kongConfigByUpload, dbDataRetained];
