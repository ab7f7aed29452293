/**
 * The type token of every resource kind the program declares, in one place: the policy pack, the mock engines and
 * the real-engine suite match resources by them. Pure (no SDK is loaded), so the policy pack can read it without the
 * provider SDKs; `test/targets/resourceTypes.test.ts` checks each against the SDK class it stands for.
 */
import { ROTATION_GUARD_TOKEN, SIGNING_KEY_TOKEN } from "../keyring/resourceTokens";

/** A dynamic resource's token as the Node SDK registers it. */
const dynamic = ({ module, type }: { module: string; type: string }) => `pulumi-nodejs:dynamic/${module}:${type}`;

/** Each resource kind's type token. */
export const RESOURCE_TYPES = {
  signingKey: dynamic(SIGNING_KEY_TOKEN),
  rotationGuard: dynamic(ROTATION_GUARD_TOKEN),
  randomPassword: "random:index/randomPassword:RandomPassword",
  container: "docker:index/container:Container",
  remoteImage: "docker:index/remoteImage:RemoteImage",
  network: "docker:index/network:Network",
  volume: "docker:index/volume:Volume",
  namespace: "kubernetes:core/v1:Namespace",
  secret: "kubernetes:core/v1:Secret",
  service: "kubernetes:core/v1:Service",
  persistentVolumeClaim: "kubernetes:core/v1:PersistentVolumeClaim",
  deployment: "kubernetes:apps/v1:Deployment",
  statefulSet: "kubernetes:apps/v1:StatefulSet",
  podDisruptionBudget: "kubernetes:policy/v1:PodDisruptionBudget",
  networkPolicy: "kubernetes:networking.k8s.io/v1:NetworkPolicy",
  ingress: "kubernetes:networking.k8s.io/v1:Ingress",
} as const;
