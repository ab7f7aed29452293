// The CrossGuard policy pack: `pulumi preview --policy-pack policy` (see the README's guard rails section).
import { PolicyPack } from "@pulumi/policy";
import { PACK_NAME, policies } from "./policies";

new PolicyPack(PACK_NAME, {
  description:
    "Self-hosted Supabase: pinned images, private keys only in auth, kong config by upload, db data retained.",
  enforcementLevel: "mandatory",
  policies,
});
