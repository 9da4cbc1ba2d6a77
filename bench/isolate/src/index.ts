import { app as api } from "../../../src/worker";
import { app as reference } from "../../reference/src/app";
import { fromMemory, type Recording, recording } from "./d1-memory";

// Bench only, never deployed: the API's own CPU in its isolate, with D1 answered from
// memory. Local D1 is SQLite inside the Worker's workerd process; on Cloudflare it runs
// elsewhere and is not billed as the Worker's CPU. This worker runs the API app itself:
//
// - `/api/<path>`: the request goes to the API with a real local D1 session, and the
//   request and every D1 answer are kept (the last request per path).
// - `POST /replay?path=<path>&n=<count>`: sends that request to the API `count` times in
//   this one request, each D1 call answered from memory (the same SQL gets the answer it
//   had, whatever the values). `path=reference` runs the reference route instead, and
//   `path=binding` makes `count` round trips over a service binding to this worker's
//   `/echo` with a 1 KiB JSON body and answer, which is what a D1 call costs the calling
//   isolate (the binding's client side: a subrequest, JSON both ways) plus the echo.
//   Answers `{ statuses: {"200": count}, misses: [], roundTrips }` (D1 round trips per
//   request); `npm run bench` reads this process's CPU before and after.

type Env = CloudflareBindings & { SELF: Fetcher };
type Kept = { method: string; headers: [string, string][]; body: string | undefined; answers: Recording };
const kept = new Map<string, Kept>();

/** A fresh client address per replayed request, as the rate limits expect from real clients. */
let client = 0;
const nextAddress = () => {
  client = (client + 1) % 65_536;
  return `10.200.${client >> 8}.${client & 255}`;
};

async function record(request: Request, env: Env, ctx: ExecutionContext, path: string) {
  const body = request.method === "GET" || request.method === "HEAD" ? undefined : await request.text();
  const entry: Kept = { method: request.method, headers: [...request.headers], body, answers: new Map() };
  kept.set(path.split("?")[0] ?? path, entry);
  const DB = { withSession: (start: string) => recording(env.DB.withSession(start), entry.answers) };
  const forwarded = new Request(`http://localhost${path}`, { method: entry.method, headers: entry.headers, body });
  return api.fetch(forwarded, { ...env, DB } as unknown as CloudflareBindings, ctx);
}

/** About what one D1 call carries each way: a statement with its values, or a row or two. */
const ECHO_BODY = JSON.stringify({
  sql: "select ".padEnd(600, "x"),
  params: ["p".repeat(36)],
  rows: ["r".repeat(300)],
});

async function replay(env: Env, ctx: ExecutionContext, path: string, count: number) {
  const statuses: Record<string, number> = {};
  const misses = new Set<string>();
  const calls = { count: 0 };
  const entry = kept.get(path);
  if (path !== "reference" && path !== "binding" && !entry) {
    return Response.json({ error: `nothing recorded for ${path}` }, { status: 404 });
  }
  const DB = { withSession: () => entry && fromMemory(entry.answers, misses, calls) };
  const memoryEnv = { ...env, DB } as unknown as CloudflareBindings;
  for (let i = 0; i < count; i++) {
    let response: Response;
    if (path === "binding") {
      response = await env.SELF.fetch("http://self/echo", { method: "POST", body: ECHO_BODY });
    } else if (!entry) {
      response = await reference.fetch(new Request("http://localhost/"));
    } else {
      const headers = new Headers(entry.headers);
      headers.set("cf-connecting-ip", nextAddress());
      response = await api.fetch(
        new Request(`http://localhost${path}`, { method: entry.method, headers, body: entry.body }),
        memoryEnv,
        ctx,
      );
    }
    // The binding's answer is read as D1's client reads its own: as JSON.
    await (path === "binding" ? response.json() : response.arrayBuffer());
    statuses[response.status] = (statuses[response.status] ?? 0) + 1;
  }
  const roundTrips = calls.count / count;
  return Response.json({ statuses, misses: [...misses].map((key) => key.slice(0, 120)), roundTrips });
}

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname.startsWith("/api/")) return record(request, env, ctx, url.pathname.slice(4) + url.search);
    if (url.pathname === "/replay" && request.method === "POST") {
      const count = Number(url.searchParams.get("n") ?? "1");
      if (!Number.isInteger(count) || count < 1 || count > 100_000)
        return Response.json({ error: "n" }, { status: 400 });
      return replay(env, ctx, url.searchParams.get("path") ?? "", count);
    }
    if (url.pathname === "/") return Response.json({ ready: true });
    if (url.pathname === "/echo" && request.method === "POST") {
      return new Response(await request.text(), { headers: { "content-type": "application/json" } });
    }
    return Response.json({ error: "not found" }, { status: 404 });
  },
} satisfies ExportedHandler<Env>;
