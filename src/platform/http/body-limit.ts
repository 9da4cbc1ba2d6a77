import type { MiddlewareHandler } from "hono";
import { ApiError } from "../errors";

/** How much of a refused body is read and dropped before the 413 goes out. */
const DRAIN_LIMIT = 1024 * 1024;

/** Refuses a body over `maxSize` bytes with 413 payload_too_large, whether it declares its
 * length or streams without one. Unlike hono/body-limit, it reads the rest of a refused body
 * (up to 1 MiB) before answering: wrangler dev's proxy answers the worker's next request with
 * a 503 "worker restarted" when a response leaves its request body unread. */
export function bodyLimit(maxSize: number): MiddlewareHandler {
  return async (c, next) => {
    const body = c.req.raw.body;
    if (!body) return next();
    const declared = c.req.raw.headers.has("transfer-encoding") ? null : c.req.header("content-length");
    if (declared != null && Number(declared) <= maxSize) return next();
    const reader = body.getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxSize) {
        await drain(reader, DRAIN_LIMIT - size);
        throw new ApiError("payload_too_large");
      }
      chunks.push(value);
    }
    c.req.raw = new Request(c.req.raw, { body: new Blob(chunks) });
    return next();
  };
}

/** Reads and drops up to `budget` more bytes, then cancels whatever is left. */
async function drain(reader: ReadableStreamDefaultReader<Uint8Array>, budget: number): Promise<void> {
  let left = budget;
  while (left > 0) {
    const { done, value } = await reader.read();
    if (done) return;
    left -= value.byteLength;
  }
  await reader.cancel();
}
