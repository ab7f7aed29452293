/**
 * The rotation runbook as `npm run keys` prints it: the two waiting rules and what to do after each command, with the
 * stack's own `jwksCacheSeconds` and `jwtExpiry` (the numbers the guard rails in `components/keyring/rotationRules.ts`
 * enforce).
 */
import { DEFAULTS } from "../../components/config/settings";
import { formatDuration, REVOKE_GRACE_SECONDS } from "../../components/keyring/rotationRules";
import type { KeyCommand } from "./keyCommands";
import type { StackFile } from "./stackFile";

/** Timing settings that govern the runbook, with the defaults the program applies. */
export interface RotationTiming {
  jwksCacheSeconds: number;
  jwtExpiry: number;
}

/** Reads the timing settings from a parsed stack file (defaults when the config is invalid or silent). */
export function rotationTiming(stack: StackFile): RotationTiming {
  const num = (name: string, fallback: number) => {
    const value = Number(stack.raw[name]);
    return Number.isInteger(value) && value > 0 ? value : fallback;
  };
  return {
    jwksCacheSeconds: stack.config?.jwksCacheSeconds ?? num("jwksCacheSeconds", DEFAULTS.jwksCacheSeconds),
    jwtExpiry: stack.config?.jwtExpiry ?? num("jwtExpiry", DEFAULTS.jwtExpiry),
  };
}

/** The runbook's two waiting rules, with this stack's numbers. */
export function waitingRules(timing: RotationTiming): { beforePromote: string; beforeRevoke: string } {
  return {
    beforePromote:
      `Promote a standby key only after it has been published (its pulumi up finished) for at least ` +
      `jwksCacheSeconds = ${timing.jwksCacheSeconds} s (${formatDuration(timing.jwksCacheSeconds)}): ` +
      `auth serves the JWKS with max-age=600 and client libraries may cache it another 10 minutes.`,
    beforeRevoke:
      `Revoke (or remove) the previous key only after jwtExpiry + ${formatDuration(REVOKE_GRACE_SECONDS)} ` +
      `= ${timing.jwtExpiry + REVOKE_GRACE_SECONDS} s ` +
      `(${formatDuration(timing.jwtExpiry + REVOKE_GRACE_SECONDS)}) have passed since the promotion, ` +
      `so every access token it signed has expired and nobody is signed out.`,
  };
}

/**
 * What to check before a key that does not sign goes: only a previous key has signed tokens still in use, so only
 * its retirement waits (the guard rail in `components/keyring/rotationRules.ts` holds a previous key alone to it).
 */
function beforeRetiring(state: string | undefined, rules: ReturnType<typeof waitingRules>): string {
  if (state === "standby")
    return "A standby key signs nothing, so no session depends on it: there is nothing to wait for.";
  if (state === "revoked")
    return "It is revoked already: verifiers reject its tokens, so there is nothing to wait for.";
  return `Check first: ${rules.beforeRevoke}`;
}

/**
 * What to do after a command, with the stack's own numbers.
 * @param stateBefore the key's state before the command: what `revoke` and `remove` ask to check depends on it.
 */
export function nextSteps(command: KeyCommand, stack: string, timing: RotationTiming, stateBefore?: string): string[] {
  const rules = waitingRules(timing);
  // `npm run pulumi` hands Pulumi the passphrase `npm run up` generated; with your own, plain `pulumi` is the same.
  const preview = `npm run pulumi -- preview --stack ${stack}`;
  const up = `npm run pulumi -- up --stack ${stack}`;
  switch (command.kind) {
    case "add-standby":
    case "import":
      return [
        `Next: ${preview} (expect auth, the services that verify tokens and kong to be recreated: they learn the new ` +
          `public key), then ${up}.`,
        `Then wait: ${rules.beforePromote}`,
        `After that: npm run keys -- promote ${command.name} --stack ${stack}`,
      ];
    case "promote":
      return [
        `Waiting rule: ${rules.beforePromote} If that time has not passed since the standby key was deployed, wait ` +
          `before running pulumi up.`,
        `Next: ${preview} (expect auth alone to be recreated), then ${up}. New sessions get tokens from the new key; ` +
          `tokens of the previous key keep verifying, and the sb_ keys keep mapping to its JWTs until it is revoked.`,
        `Later: ${rules.beforeRevoke}`,
      ];
    case "revoke":
      return [
        beforeRetiring(stateBefore, rules),
        `Next: ${preview}, then ${up}. Tokens signed by the revoked key are rejected from then on.`,
      ];
    case "restore":
      return [
        `Next: ${preview}, then ${up}: verifiers trust ${command.name} again.`,
        `Then wait: ${rules.beforePromote} The clock starts again at this pulumi up.`,
        `After that, if it should sign again: npm run keys -- promote ${command.name} --stack ${stack}`,
      ];
    case "remove":
      return [
        beforeRetiring(stateBefore, rules),
        `Next: ${preview} (it shows the key being deleted), then ${up}. A removed key cannot come back unless you ` +
          `import it again.`,
      ];
  }
}
