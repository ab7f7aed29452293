/**
 * A service's environment and files as the data of Kubernetes Secrets. A Secret holds at most
 * {@link SECRET_MAX_BYTES}: an environment is refused beyond it, and files are spread over as many Secrets as they
 * need, whole (a file larger than one Secret is refused before any resource exists, by the config's target check).
 * Nothing is ever truncated. Pure.
 */
import { SECRET_MAX_BYTES } from "../../config/target";
import { toEnvList, type EnvMap, type UploadedFile } from "../../services/service";
import { fileKey, filesSecretName } from "./naming";

export { SECRET_MAX_BYTES };

/** One Secret's share of a service's files: its data, and where each key is mounted. */
export interface FileChunk {
  /** The Secret's name, `<role>-files-<index>`. */
  secret: string;
  /** Its data: key → file content. */
  data: Record<string, string>;
  /** Each file it holds: its key and its absolute path in the container. */
  files: FileMount[];
}

/** A file mounted from a Secret: the Secret, the key, and the absolute path in the container. */
export interface FileMount {
  secret: string;
  key: string;
  path: string;
}

/** The bytes a Secret's values count for (the API server counts them decoded, in UTF-8 for text). */
const bytesOf = (text: string): number => Buffer.byteLength(text, "utf8");

/**
 * A service's environment as a Secret's data: each name a key (`envFrom` turns them back into variables). Names are
 * checked as Docker's list checks them; an environment larger than a Secret holds is refused.
 */
export function envSecretData(role: string, env: EnvMap): Record<string, string> {
  toEnvList(env);
  const size = Object.values(env).reduce((sum, value) => sum + bytesOf(value), 0);
  if (size > SECRET_MAX_BYTES) {
    throw new Error(`${role}'s environment is ${size} bytes; a Kubernetes Secret holds at most ${SECRET_MAX_BYTES}`);
  }
  return { ...env };
}

/**
 * A service's files spread over Secrets in order, each holding as many whole files as fit.
 * @throws when one file is larger than a Secret holds, or two files would share a key.
 */
export function splitFiles(role: string, files: readonly UploadedFile[], limit = SECRET_MAX_BYTES): FileChunk[] {
  const chunks: FileChunk[] = [];
  let size = 0;
  const keys = new Set<string>();
  for (const { file, content } of files) {
    const bytes = bytesOf(content);
    if (bytes > limit) {
      throw new Error(`${role}'s file ${file} is ${bytes} bytes; a Kubernetes Secret holds at most ${limit}`);
    }
    const key = fileKey(file);
    if (keys.has(key)) throw new Error(`${role}'s files ${file} and another share the Secret key ${key}`);
    keys.add(key);
    if (chunks.length === 0 || size + bytes > limit) {
      chunks.push({ secret: filesSecretName(role, chunks.length), data: {}, files: [] });
      size = 0;
    }
    const chunk = chunks[chunks.length - 1];
    chunk.data[key] = content;
    chunk.files.push({ secret: chunk.secret, key, path: file });
    size += bytes;
  }
  return chunks;
}
