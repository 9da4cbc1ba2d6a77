import { compare, hash } from "bcryptjs";
import { Hono } from "hono";
import { app } from "./app";

const PASSWORD = "correct horse battery staple";
const hashes = new Map<number, Promise<string>>();

/** A stored hash at `cost`, made once per isolate, for the compare floor. */
function storedHash(cost: number): Promise<string> {
  let stored = hashes.get(cost);
  if (!stored) {
    stored = hash(PASSWORD, cost);
    hashes.set(cost, stored);
  }
  return stored;
}

// Bench only: exactly one bcryptjs hash or compare per request, the floor that /register
// and /login are compared with. `GET /bcrypt/hash?cost=10`, `GET /bcrypt/compare?cost=10`.
// With `d1=1` the compare sits between two `select 1` queries on a local D1, the way login's
// bcrypt sits between its read and its write: the control for errors under load.
const bench = new Hono<{ Bindings: { DB: D1Database } }>().route("/", app);

bench.on(["GET", "POST"], "/bcrypt/:op{hash|compare}", async (c) => {
  const cost = Number(c.req.query("cost") ?? "10");
  if (!Number.isInteger(cost) || cost < 4 || cost > 14) return c.json({ error: "cost must be 4 to 14" }, 400);
  if (c.req.param("op") === "hash") {
    await hash(PASSWORD, cost);
    return c.json({ op: "hash", cost });
  }
  const stored = await storedHash(cost);
  const d1 = c.req.query("d1") === "1";
  if (d1) await c.env.DB.prepare("select 1").all();
  const match = await compare(PASSWORD, stored);
  if (d1) await c.env.DB.prepare("select 1").all();
  return c.json({ op: "compare", cost, match, d1 });
});

export default bench;
