/**
 * The cluster's certificates, made with `openssl` for one run and kept in its directory: a CA, the API server's
 * serving certificate (for every name and address a client uses: the node's address, the `kubernetes` Service's
 * ClusterIP and DNS names), one client certificate in the `system:masters` group that every component and the
 * suite use, and the service-account token signing key. It is a throwaway test cluster: one identity is enough.
 */
import { generateKeyPairSync } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { stringify as toYaml } from "yaml";
import { run } from "../../core/proc";

/** The files of the cluster's PKI. */
export interface ClusterPki {
  dir: string;
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  adminCert: string;
  adminKey: string;
  /** The service-account token signing key (private) and its public half. */
  serviceAccountKey: string;
  serviceAccountPub: string;
}

/** An `openssl req` config: the subject and the extensions of one certificate. */
export function opensslConfig(subject: Record<string, string>, extensions: Record<string, string>): string {
  return [
    "[req]",
    "distinguished_name = dn",
    "prompt = no",
    "[dn]",
    ...Object.entries(subject).map(([k, v]) => `${k} = ${v}`),
    "[ext]",
    ...Object.entries(extensions).map(([k, v]) => `${k} = ${v}`),
    "",
  ].join("\n");
}

/** One EC P-256 key and certificate valid for 2 days, self-signed or signed by the CA in `signer`. */
async function certificate(
  dir: string,
  name: string,
  config: string,
  signer?: { cert: string; key: string },
): Promise<{ cert: string; key: string }> {
  const cnf = path.join(dir, `${name}.cnf`);
  fs.writeFileSync(cnf, config);
  const cert = path.join(dir, `${name}.crt`);
  const key = path.join(dir, `${name}.key`);
  await run(
    "openssl",
    [
      "req",
      "-x509",
      "-new",
      "-nodes",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-config",
      cnf,
      "-extensions",
      "ext",
      "-days",
      "2",
      "-keyout",
      key,
      "-out",
      cert,
      ...(signer ? ["-CA", signer.cert, "-CAkey", signer.key] : []),
    ],
    { timeoutSeconds: 30 },
  );
  return { cert, key };
}

/**
 * Makes the PKI in `dir` for an API server reached at `nodeIp` and at `serviceIp` (the first address of the Service
 * range, which the `kubernetes` Service gets).
 */
export async function makePki(dir: string, nodeIp: string, serviceIp: string): Promise<ClusterPki> {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const ca = await certificate(
    dir,
    "ca",
    opensslConfig(
      { CN: "supabase-e2e-cluster-ca" },
      { basicConstraints: "critical,CA:TRUE", keyUsage: "critical,keyCertSign,cRLSign,digitalSignature" },
    ),
  );
  const leaf = (usage: string, san?: string) => ({
    basicConstraints: "critical,CA:FALSE",
    keyUsage: "critical,digitalSignature,keyEncipherment",
    extendedKeyUsage: usage,
    ...(san ? { subjectAltName: san } : {}),
  });
  const names = ["kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"];
  const san = [`IP:${nodeIp}`, `IP:${serviceIp}`, "IP:127.0.0.1", "DNS:localhost", ...names.map((n) => `DNS:${n}`)];
  const server = await certificate(
    dir,
    "apiserver",
    opensslConfig({ CN: "kube-apiserver" }, leaf("serverAuth", san.join(","))),
    ca,
  );
  const admin = await certificate(
    dir,
    "admin",
    opensslConfig({ CN: "supabase-e2e-admin", O: "system:masters" }, leaf("clientAuth")),
    ca,
  );
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const serviceAccountKey = path.join(dir, "service-account.key");
  const serviceAccountPub = path.join(dir, "service-account.pub");
  fs.writeFileSync(serviceAccountKey, privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
  fs.writeFileSync(serviceAccountPub, publicKey.export({ type: "spki", format: "pem" }));
  return {
    dir,
    caCert: ca.cert,
    caKey: ca.key,
    serverCert: server.cert,
    serverKey: server.key,
    adminCert: admin.cert,
    adminKey: admin.key,
    serviceAccountKey,
    serviceAccountPub,
  };
}

/** A kubeconfig for `server` with the admin's credentials embedded (what `kubernetes:kubeconfig` is given). */
export function kubeconfigText(pki: ClusterPki, server: string, name = "supabase-e2e"): string {
  const data = (file: string) => fs.readFileSync(file).toString("base64");
  return toYaml({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name, cluster: { server, "certificate-authority-data": data(pki.caCert) } }],
    users: [
      {
        name: "admin",
        user: { "client-certificate-data": data(pki.adminCert), "client-key-data": data(pki.adminKey) },
      },
    ],
    contexts: [{ name, context: { cluster: name, user: "admin" } }],
    "current-context": name,
  });
}
