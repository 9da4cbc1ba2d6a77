import { hc } from "hono/client";
import { describe, expect, it } from "vitest";
import { type AppType, app } from "../src/worker";

/** Method and path of every handler that answers a request (not app-wide middleware). */
function endpoints(routes: { method: string; path: string }[]): string[] {
  return [...new Set(routes.filter((r) => r.method !== "ALL").map((r) => `${r.method} ${r.path}`))].sort();
}

// Every route, as the typed client (client/) reaches it. AppType is built from the same
// list of routers the worker mounts (src/worker.ts): a route the type lacks does not
// compile here, and a route the worker serves that is not listed fails the test below.
const api = hc<AppType>("http://localhost");
const typed = {
  "GET /health": api.health.$get,
  "POST /register": api.register.$post,
  "POST /login": api.login.$post,
  "POST /login/exchange": api.login.exchange.$post,
  "GET /welcome": api.welcome.$get,
  "POST /welcome": api.welcome.$post,
  "POST /token/refresh": api.token.refresh.$post,
  "POST /logout": api.logout.$post,
  "POST /logout/all": api.logout.all.$post,
  "GET /sessions": api.sessions.$get,
  "DELETE /sessions/:id": api.sessions[":id"].$delete,
  "GET /me": api.me.$get,
  "GET /me/activity": api.me.activity.$get,
  "PATCH /me": api.me.$patch,
  "POST /me/password": api.me.password.$post,
  "DELETE /me": api.me.$delete,
  "GET /email/verify": api.email.verify.$get,
  "POST /email/verify": api.email.verify.$post,
  "POST /email/verify/resend": api.email.verify.resend.$post,
  "POST /me/email": api.me.email.$post,
  "GET /email/change/confirm": api.email.change.confirm.$get,
  "POST /email/change/confirm": api.email.change.confirm.$post,
  "POST /password/forgot": api.password.forgot.$post,
  "GET /password/reset": api.password.reset.$get,
  "POST /password/reset": api.password.reset.$post,
  "POST /me/mfa/totp": api.me.mfa.totp.$post,
  "POST /me/mfa/totp/confirm": api.me.mfa.totp.confirm.$post,
  "DELETE /me/mfa/totp": api.me.mfa.totp.$delete,
  "POST /me/mfa/recovery-codes": api.me.mfa["recovery-codes"].$post,
  "POST /login/mfa": api.login.mfa.$post,
  "POST /me/passkeys/options": api.me.passkeys.options.$post,
  "POST /me/passkeys": api.me.passkeys.$post,
  "GET /me/passkeys": api.me.passkeys.$get,
  "PATCH /me/passkeys/:id": api.me.passkeys[":id"].$patch,
  "DELETE /me/passkeys/:id": api.me.passkeys[":id"].$delete,
  "POST /login/passkey/options": api.login.passkey.options.$post,
  "POST /login/passkey": api.login.passkey.$post,
  "POST /login/mfa/webauthn/options": api.login.mfa.webauthn.options.$post,
  "GET /admin/users": api.admin.users.$get,
  "GET /admin/audit": api.admin.audit.$get,
  "GET /admin/users/:id": api.admin.users[":id"].$get,
  "DELETE /admin/users/:id/mfa": api.admin.users[":id"].mfa.$delete,
  "PATCH /admin/users/:id": api.admin.users[":id"].$patch,
  "DELETE /admin/users/:id": api.admin.users[":id"].$delete,
  "GET /.well-known/jwks.json": api[".well-known"]["jwks.json"].$get,
  "GET /openapi.json": api["openapi.json"].$get,
  "GET /docs": api.docs.$get,
  "POST /login/email": api.login.email.$post,
  "POST /login/email/verify": api.login.email.verify.$post,
  "GET /login/email/link": api.login.email.link.$get,
  "POST /login/email/link": api.login.email.link.$post,
  "GET /login/social": api.login.social.$get,
  "GET /login/social/:id": api.login.social[":id"].$get,
  "GET /login/social/:id/callback": api.login.social[":id"].callback.$get,
  "POST /login/social/:id/callback": api.login.social[":id"].callback.$post,
  "GET /me/identities": api.me.identities.$get,
  "POST /me/identities/:provider": api.me.identities[":provider"].$post,
  "DELETE /me/identities/:id": api.me.identities[":id"].$delete,
  "GET /oauth/authorize": api.oauth.authorize.$get,
  "POST /oauth/authorize": api.oauth.authorize.$post,
  "GET /oauth/authorize/social": api.oauth.authorize.social.$get,
  "GET /.well-known/oauth-authorization-server": api[".well-known"]["oauth-authorization-server"].$get,
  "GET /.well-known/openid-configuration": api[".well-known"]["openid-configuration"].$get,
  "POST /oauth/token": api.oauth.token.$post,
  "POST /oauth/revoke": api.oauth.revoke.$post,
  "POST /oauth/introspect": api.oauth.introspect.$post,
  "GET /oauth/userinfo": api.oauth.userinfo.$get,
  "POST /oauth/userinfo": api.oauth.userinfo.$post,
  "POST /admin/oauth/clients": api.admin.oauth.clients.$post,
  "GET /admin/oauth/clients": api.admin.oauth.clients.$get,
  "GET /admin/oauth/clients/:id": api.admin.oauth.clients[":id"].$get,
  "PATCH /admin/oauth/clients/:id": api.admin.oauth.clients[":id"].$patch,
  "POST /admin/oauth/clients/:id/secret": api.admin.oauth.clients[":id"].secret.$post,
  "DELETE /admin/oauth/clients/:id": api.admin.oauth.clients[":id"].$delete,
  "POST /oauth/register": api.oauth.register.$post,
  "GET /me/oauth/grants": api.me.oauth.grants.$get,
  "DELETE /me/oauth/grants/:client_id": api.me.oauth.grants[":client_id"].$delete,
} satisfies Record<string, (...args: never[]) => unknown>;

describe("AppType", () => {
  it("types every route the worker serves, so the typed client sees every one", () => {
    expect(Object.keys(typed).sort()).toEqual(endpoints(app.routes));
  });

  it("types a route's body and answer, not only its path", () => {
    // Compile-time checks: a wrong field name or a missing one fails `npm run typecheck`.
    const login = () =>
      api.login.$post({ json: { email: "a@example.com", password: "pw", refresh_transport: "body" } });
    type Answer = Awaited<ReturnType<Awaited<ReturnType<typeof login>>["json"]>>;
    const token: Answer extends { token: string } ? true : never = true;
    expect(token).toBe(true);
  });
});
