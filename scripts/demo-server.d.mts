import type { Server } from "node:http";

/** client/index.ts bundled as one browser ES module. */
export function bundleClient(): Promise<Uint8Array>;
/** Serves demo/ (and /client.js) on `host:port`, over HTTPS when `tls` is given. */
export function serveDemo(options: {
  host: string;
  port: number;
  tls?: { key: string | Buffer; cert: string | Buffer };
}): Promise<Server>;
