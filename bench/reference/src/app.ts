import { Hono } from "hono";

/** The reference route: what the cheapest possible Hono request costs. Its bundle is the
 * reference bundle (`npm run bench` measures this file on its own). */
export const app = new Hono().get("/", (c) => c.json({ message: "hello" }));

export default app;
