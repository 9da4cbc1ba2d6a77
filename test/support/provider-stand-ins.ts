// Local stand-ins serving the shapes of the social presets, for test/http/social-presets.test.ts:
// GitHub (OAuth 2.0, JSON tokens only with `Accept: application/json`, errors as HTTP 200,
// `/user` and `/user/emails` refusing requests without a User-Agent), Apple (OpenID
// Connect with `response_mode=form_post`, a client secret that must be an ES256 JWT made
// from the .p8 key, `email_verified` as a string, the name only in the first POST's `user`
// field) and Microsoft's multi-tenant issuer (discovery at /common/v2.0 names
// `.../{tenantid}/v2.0`; each id_token's `iss` has its `tid`).
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { type CryptoKey, exportJWK, exportPKCS8, generateKeyPair, importJWK, type JWK, jwtVerify, SignJWT } from "jose";

type Pending = { clientId: string; redirectUri: string; nonce?: string; challenge: string };
export type StandIn = {
  url: string;
  /** Claims the next id_token (or GitHub's /user) carries, merged over the defaults. */
  next: Record<string, unknown>;
  /** GitHub's `/user/emails` answer. */
  emails: { email: string; primary: boolean; verified: boolean }[];
  /** Every request's path and user agent, in order. */
  requests: { path: string; userAgent: string | undefined }[];
  close(): Promise<void>;
};

const body = (req: IncomingMessage) =>
  new Promise<URLSearchParams>((resolve) => {
    let text = "";
    req.on("data", (chunk) => {
      text += chunk;
    });
    req.on("end", () => resolve(new URLSearchParams(text)));
  });

/** Starts a stand-in of `kind` on `port`; `applePublicKey` (a JWK) checks Apple's client secret. */
export async function startStandIn(
  kind: "github" | "apple" | "microsoft",
  port: number,
  applePublicKey?: JWK,
): Promise<StandIn> {
  const url = `http://127.0.0.1:${port}`;
  const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: `${kind}-1`, alg: "ES256", use: "sig" };
  const codes = new Map<string, Pending>();
  const tenant = "9188040d-6c67-4c5b-b112-36a304b66dad";
  const issuer = kind === "microsoft" ? `${url}/${tenant}/v2.0` : url;
  const standIn: StandIn = { url, next: {}, emails: [], requests: [], close: async () => {} };

  const json = (res: ServerResponse, status: number, value: unknown) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(value));
  };
  const server = createServer(async (req, res) => {
    const at = new URL(req.url ?? "/", url);
    standIn.requests.push({ path: at.pathname, userAgent: req.headers["user-agent"] });
    const discovery =
      kind === "microsoft" ? "/common/v2.0/.well-known/openid-configuration" : "/.well-known/openid-configuration";
    if (kind !== "github" && at.pathname === discovery) {
      return json(res, 200, {
        issuer: kind === "microsoft" ? `${url}/{tenantid}/v2.0` : url,
        authorization_endpoint: `${url}/authorize`,
        token_endpoint: `${url}/token`,
        jwks_uri: `${url}/keys`,
        response_types_supported: ["code"],
        response_modes_supported: kind === "apple" ? ["query", "fragment", "form_post"] : ["query"],
        id_token_signing_alg_values_supported: ["ES256"],
        token_endpoint_auth_methods_supported: ["client_secret_post"],
        subject_types_supported: ["pairwise"],
      });
    }
    if (at.pathname === "/keys") return json(res, 200, { keys: [jwk] });
    if (at.pathname === "/authorize" || at.pathname === "/login/oauth/authorize") {
      const q = at.searchParams;
      const code = crypto.randomUUID();
      codes.set(code, {
        clientId: q.get("client_id") ?? "",
        redirectUri: q.get("redirect_uri") ?? "",
        nonce: q.get("nonce") ?? undefined,
        challenge: q.get("code_challenge") ?? "",
      });
      const back = new URL(q.get("redirect_uri") ?? "");
      back.searchParams.set("code", code);
      back.searchParams.set("state", q.get("state") ?? "");
      if (q.get("response_mode") === "form_post") {
        // Apple: an auto-posting form; the person's name only in `user`.
        const fields = {
          code,
          state: q.get("state") ?? "",
          user: JSON.stringify({ name: { firstName: "Tim", lastName: "Apple" }, email: "x" }),
        };
        const inputs = Object.entries(fields)
          .map(
            ([n, v]) => `<input type="hidden" name="${n}" value="${v.replace(/&/g, "&amp;").replace(/"/g, "&quot;")}">`,
          )
          .join("");
        res.writeHead(200, { "content-type": "text/html" });
        return res.end(`<form method="post" action="${back.origin}${back.pathname}">${inputs}</form>`);
      }
      res.writeHead(302, { location: back.href });
      return res.end();
    }
    if (at.pathname === "/token" || at.pathname === "/login/oauth/access_token") {
      const form = await body(req);
      const pending = codes.get(form.get("code") ?? "");
      codes.delete(form.get("code") ?? "");
      if (kind === "github") {
        // GitHub answers JSON only when asked, and its errors with 200.
        if (!String(req.headers.accept).includes("application/json")) return res.writeHead(200).end("access_token=no");
        if (!pending) return json(res, 200, { error: "bad_verification_code" });
        return json(res, 200, {
          access_token: `gho_${crypto.randomUUID()}`,
          token_type: "bearer",
          scope: "read:user,user:email",
        });
      }
      if (!pending) return json(res, 400, { error: "invalid_grant" });
      if (kind === "apple") {
        try {
          const key = (await importJWK(applePublicKey ?? {}, "ES256")) as CryptoKey;
          await jwtVerify(form.get("client_secret") ?? "", key, {
            audience: "https://appleid.apple.com",
            subject: pending.clientId,
          });
        } catch {
          return json(res, 400, { error: "invalid_client" });
        }
      }
      const now = Math.floor(Date.now() / 1000);
      const claims = {
        iss: issuer,
        aud: pending.clientId,
        sub: crypto.randomUUID(),
        iat: now,
        exp: now + 600,
        nonce: pending.nonce,
        ...(kind === "microsoft" && { tid: tenant }),
        ...standIn.next,
      };
      const idToken = await new SignJWT(claims).setProtectedHeader({ alg: "ES256", kid: jwk.kid }).sign(privateKey);
      return json(res, 200, { access_token: "at", token_type: "Bearer", expires_in: 600, id_token: idToken });
    }
    if (kind === "github" && at.pathname.startsWith("/api/")) {
      // GitHub's API refuses requests without a User-Agent (403).
      if (!req.headers["user-agent"]) return json(res, 403, { message: "no user agent" });
      if (at.pathname === "/api/user")
        return json(res, 200, { id: 4242, login: "octocat", name: "Mona Octocat", ...standIn.next });
      if (at.pathname === "/api/user/emails") return json(res, 200, standIn.emails);
    }
    json(res, 404, { error: "not_found" });
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  standIn.close = () => new Promise((resolve) => server.close(() => resolve()));
  return standIn;
}

/** Apple's `.p8` key for the API (PKCS#8 PEM on one line, as a --var carries it) and its public JWK. */
export async function appleKey(): Promise<{ pem: string; publicJwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
  const pem = (await exportPKCS8(privateKey)).replace(/\n/g, " ").trim();
  return { pem, publicJwk: await exportJWK(publicKey) };
}
