import { createServer } from "node:net";

/** True when nothing holds `port` on `host` right now ("localhost" is checked on 127.0.0.1,
 * where wrangler and Node servers bind it first). */
export function canListen(port, host) {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", () => resolve(false));
    probe.listen(port, host === "localhost" ? "127.0.0.1" : host, () => probe.close(() => resolve(true)));
  });
}

/** A loopback port free right now, chosen by the kernel. */
export function anyFreePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}
