// Types for scripts/hostile.mjs, so TypeScript tests can call the runner.

export type HostileGroup =
  | "json"
  | "content-type"
  | "email"
  | "accounts"
  | "tokens"
  | "sessions"
  | "cors"
  | "http"
  | "headers"
  | "abuse";

export type HostileResult = {
  group: HostileGroup;
  name: string;
  outcome: "ok" | "fail" | "skip";
  /** Why it failed or was skipped. */
  detail?: string;
  ms: number;
};

export type HostileOptions = {
  /** The server's TOKEN_KEY; without it the validly-signed token cases are skipped. */
  tokenKey?: string;
  /** The server runs with CORS_ORIGINS set to this origin; without it, CORS "*" is expected. */
  allowlistOrigin?: string;
  /** The server's REFRESH_REUSE_INTERVAL in seconds, when short; without it the case that
   * waits it out is skipped. */
  reuseInterval?: number;
  /** Run only these groups. */
  only?: HostileGroup[];
  /** Called after each case, in table order. */
  onResult?: (result: HostileResult) => void;
};

export type HostileRun = {
  results: HostileResult[];
  passed: number;
  failed: number;
  skipped: number;
  ms: number;
};

export const GROUPS: HostileGroup[];

/** Runs the hostile table against `base`, e.g. `http://127.0.0.1:8787`. */
export function runHostile(base: string, options?: HostileOptions): Promise<HostileRun>;
