/**
 * The blast radius of the rotation lifecycle for EdDSA keys with legacy HS256 on, the functions on and no studio
 * (the ES256 shape is in blastRadius.test.ts; a file each, so the two are measured at once).
 */
import { describeBlastRadius } from "./support/blastRadiusSuite";

describeBlastRadius({ algorithm: "EdDSA", studio: false, legacyHs256: true, functions: true });
