import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type StandIn, startStandIn } from "../support/provider-stand-ins";
import { formsOf, Jar } from "../support/social";
import { ALLOWED_ORIGINS } from "./servers";

// The presets' quirks against local stand-ins serving their shapes (test/support/
// provider-stand-ins.ts): `social` points github, apple and microsoft at them (allowed
// for presets only on loopback with ENVIRONMENT dev or test).
const { social, standIns } = inject("servers");
const APP = `${ALLOWED_ORIGINS[1]}/signed-in`;
type Json = Record<string, unknown>;
const stands = {} as { github: StandIn; apple: StandIn; microsoft: StandIn };

beforeAll(async () => {
  stands.github = await startStandIn("github", Number(new URL(standIns.github).port));
  stands.apple = await startStandIn("apple", Number(new URL(standIns.apple).port), standIns.applePublicJwk);
  stands.microsoft = await startStandIn("microsoft", Number(new URL(standIns.microsoft).port));
});
afterAll(async () => {
  await Promise.all(Object.values(stands).map((stand) => stand.close()));
});

/** Start → stand-in → callback, in one browser: the final redirect. */
async function trip(id: string) {
  const jar = new Jar();
  const started = await jar.fetch(`${social}/login/social/${id}?redirect_to=${encodeURIComponent(APP)}`);
  expect(started.status).toBe(302);
  const authorize = new URL(started.headers.get("location") ?? "");
  const atProvider = await jar.fetch(authorize);
  let back: Response;
  if (atProvider.status === 302) {
    back = await jar.fetch(atProvider.headers.get("location") ?? "");
  } else {
    // form_post: the provider's page posts cross-site, without the Lax cookie...
    const [form] = formsOf(await atProvider.text());
    const post = { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" } };
    const crossSite = await fetch(form?.action ?? "", {
      ...post,
      body: new URLSearchParams(form?.inputs),
      redirect: "manual",
    });
    expect(crossSite.status).toBe(200);
    // ...and our same-origin re-post page sends the same fields with it.
    const [again] = formsOf(await crossSite.text());
    back = await jar.fetch(new URL(again?.action ?? "", social), { ...post, body: new URLSearchParams(again?.inputs) });
  }
  expect(back.status).toBe(302);
  return { authorize, location: new URL(back.headers.get("location") ?? "") };
}

async function exchange(location: URL) {
  const res = await fetch(`${social}/login/exchange`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ code: location.searchParams.get("code") }),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Json;
}

describe("GitHub (OAuth 2.0 and its REST API)", () => {
  it("asks for read:user user:email with PKCE and no nonce, and takes only a verified primary email", async () => {
    const email = `octo-${crypto.randomUUID()}@example.com`;
    stands.github.next = { id: Math.floor(Math.random() * 1e9) };
    stands.github.emails = [
      { email, primary: true, verified: false },
      { email: `other-${email}`, primary: false, verified: true },
    ];
    const { authorize, location } = await trip("github");
    expect(authorize.searchParams.get("scope")).toBe("read:user user:email");
    expect(authorize.searchParams.get("nonce")).toBeNull();
    expect(authorize.searchParams.get("code_challenge_method")).toBe("S256");
    // An unverified primary is no email at all (never the verified secondary one).
    expect(Object.fromEntries(location.searchParams)).toEqual({ error: "email_required" });
    // Every API call carried a User-Agent (GitHub answers 403 without one).
    const api = stands.github.requests.filter((r) => r.path.startsWith("/api/"));
    expect(api.length).toBeGreaterThan(0);
    expect(api.every((r) => r.userAgent)).toBe(true);

    // Odd answers from its API are the provider's failure, answered by redirect, never a 500.
    stands.github.emails = [null] as never;
    expect(Object.fromEntries((await trip("github")).location.searchParams)).toEqual({ error: "email_required" });
    stands.github.next = { id: "not a number" };
    expect(Object.fromEntries((await trip("github")).location.searchParams)).toEqual({ error: "provider_error" });

    stands.github.next = { id: Math.floor(Math.random() * 1e9) };
    stands.github.emails = [{ email, primary: true, verified: true }];
    const signedIn = await exchange((await trip("github")).location);
    expect(signedIn).toMatchObject({ email, first_name: "Mona", last_name: "Octocat" });
  });
});

describe("Apple (form_post, client-secret JWT, string booleans)", () => {
  it("signs in through the form_post re-post with its ES256 client secret, the name from the first POST's user field", async () => {
    const email = `apple-${crypto.randomUUID()}@privaterelay.example.com`;
    stands.apple.next = { email, email_verified: "true", is_private_email: "true" };
    const { authorize, location } = await trip("apple");
    expect(authorize.searchParams.get("response_mode")).toBe("form_post");
    expect(authorize.searchParams.get("scope")).toBe("openid email name");
    const signedIn = await exchange(location);
    expect(signedIn).toMatchObject({ email, first_name: "Tim", last_name: "Apple" });
    const me = (await (
      await fetch(`${social}/me`, { headers: { authorization: `Bearer ${signedIn.token}` } })
    ).json()) as Json;
    expect(me.email_verified).toBe(true);
  });
});

describe("Microsoft (multi-tenant issuer)", () => {
  it("accepts the tenant's issuer from the /common template, and refuses an iss of another tenant", async () => {
    const email = `ms-${crypto.randomUUID()}@contoso.example.com`;
    stands.microsoft.next = { email, email_verified: true, given_name: "Satya", family_name: "N" };
    const signedIn = await exchange((await trip("microsoft")).location);
    expect(signedIn).toMatchObject({ email, first_name: "Satya" });

    stands.microsoft.next = { email, iss: `${standIns.microsoft}/another-tenant/v2.0` };
    const { location } = await trip("microsoft");
    expect(Object.fromEntries(location.searchParams)).toEqual({ error: "invalid_id_token" });
  });
});
