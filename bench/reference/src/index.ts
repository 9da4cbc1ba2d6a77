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
const bench = new Hono().route("/", app);

bench.get("/bcrypt/:op{hash|compare}", async (c) => {
  const cost = Number(c.req.query("cost") ?? "10");
  if (!Number.isInteger(cost) || cost < 4 || cost > 14) return c.json({ error: "cost must be 4 to 14" }, 400);
  if (c.req.param("op") === "hash") {
    await hash(PASSWORD, cost);
    return c.json({ op: "hash", cost });
  }
  const stored = await storedHash(cost);
  return c.json({ op: "compare", cost, match: await compare(PASSWORD, stored) });
});

export default bench;
