import { describe } from "vitest";
import { expectError, it, newUser } from "./helpers";

type Fields = Record<string, string>;

const loginFields = () => ({ email: newUser().email, password: "x-hostile-1" });

const bodies: Record<string, () => Fields> = {
  "/register": () => newUser(),
  "/login": loginFields,
  "/token/refresh": () => ({ refresh_token: "hostile-refresh-token" }),
};

/** Each encoding as [Content-Type, body]. */
const encodings: Record<string, (value: Fields) => [string, string]> = {
  "text/plain": (value) => ["text/plain", JSON.stringify(value)],
  "application/x-www-form-urlencoded": (value) => [
    "application/x-www-form-urlencoded",
    new URLSearchParams(Object.entries(value)).toString(),
  ],
  "multipart/form-data": (value) => {
    const boundary = "----hostile";
    const parts = Object.entries(value).map(
      ([k, v]) => `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`,
    );
    return [`multipart/form-data; boundary=${boundary}`, `${parts.join("")}--${boundary}--\r\n`];
  },
};

describe("bodies that are not application/json", () => {
  for (const [path, make] of Object.entries(bodies)) {
    for (const [label, encode] of Object.entries(encodings)) {
      const written = path === "/register";
      it(`${label} on ${path} -> 415 unsupported_media_type${written ? ", nothing written" : ""}`, async ({ t }) => {
        const value = make();
        const [type, body] = encode(value);
        expectError(await t.post(path, body, { "content-type": type }), 415, "unsupported_media_type");
        if (written) await t.expectRegistrable(String(value.email));
      });
    }
  }

  it("JSON body with no Content-Type -> 415 unsupported_media_type", async ({ t }) => {
    const res = await t.request("POST", "/login", { body: JSON.stringify(loginFields()) });
    expectError(res, 415, "unsupported_media_type");
  });

  it("JSON body as text/json -> 415 unsupported_media_type", async ({ t }) => {
    expectError(
      await t.post("/login", JSON.stringify(loginFields()), { "content-type": "text/json" }),
      415,
      "unsupported_media_type",
    );
  });

  it("form body labelled application/json -> 400 invalid_json", async ({ t }) => {
    expectError(await t.post("/login", "email=a%40b.co&password=x-hostile-1"), 400, "invalid_json");
  });
});
