/** studio's settings: whether the dashboard runs, and its basic-auth user. */
import { flag, text } from "../../schema/fields";
import { defineSetting } from "../../schema/setting";

/** Every setting of studio (and meta, which runs with it). */
export const STUDIO_SETTINGS = [
  defineSetting({
    key: "studio",
    schema: flag().default(true),
    type: "boolean",
    doc: "run studio and meta (the dashboard)",
  }),
  defineSetting({
    key: "dashboardUsername",
    schema: text({
      pattern: /^[A-Za-z0-9._-]{1,64}$/,
      expected: '1-64 characters of letters, digits, ".", "_" or "-"',
    }).default("supabase"),
    type: "string",
    doc: "basic-auth user of the dashboard (the password is generated)",
  }),
] as const;
