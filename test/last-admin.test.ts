import { env } from "cloudflare:workers";
import { expect, it } from "vitest";
import { errorOf, promote, registered, send } from "./helpers";

// Storage is isolated per test file: this file controls exactly how many admins exist.
it("never lets the last enabled admin demote, disable or delete themself; a second admin unlocks it", async () => {
  const { count } = (await env.DB.prepare("select count(*) as count from users where role = 'admin'").first<{
    count: number;
  }>()) ?? { count: -1 };
  expect(count).toBe(0);
  const first = await registered();
  await promote(first.body.id);
  const self = `/admin/users/${first.body.id}`;

  for (const [method, body] of [
    ["PATCH", { role: "user" }],
    ["PATCH", { disabled: true }],
    ["PATCH", { role: "user", disabled: true }],
    ["DELETE", undefined],
  ] as const) {
    const res = await send(method, self, first.token, body);
    expect(res.status).toBe(409);
    expect((await errorOf(res)).code).toBe("last_admin");
  }
  // Harmless changes to the last admin still work.
  expect((await send("PATCH", self, first.token, { role: "admin", disabled: false })).status).toBe(200);

  const second = await registered();
  await promote(second.body.id);
  expect((await send("PATCH", self, first.token, { role: "user" })).status).toBe(200);
  // Now `second` is the last one.
  const res = await send("DELETE", `/admin/users/${second.body.id}`, second.token);
  expect(res.status).toBe(409);
});
