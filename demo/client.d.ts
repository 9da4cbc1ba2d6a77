// The part of /client.js the demo uses. /client.js is client/index.ts bundled for
// browsers by scripts/demo-server.mjs; the full types live there.
export type Transport = "cookie" | "body";
export interface RefreshTokenStore {
  get(): string | undefined | Promise<string | undefined>;
  set(token: string | undefined): void | Promise<void>;
}
export function memoryStore(initial?: string): RefreshTokenStore;
export function createAuthClient(options: {
  baseUrl: string;
  transport: Transport;
  store?: RefreshTokenStore;
  onSignedOut?: () => void;
}): {
  readonly accessToken: string | undefined;
  fetch(path: string, init?: RequestInit): Promise<Response>;
  refresh(): Promise<boolean>;
  close(): void;
};
