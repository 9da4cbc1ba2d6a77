import * as z from "zod/mini";
import { doc } from "./describe";

// The OpenAPI side of the OAuth provider's errors: the RFC shape `{error, error_description}`
// (RFC 6749 §5.2) instead of the API's envelope, each status listing its codes as examples.

type Json = Record<string, unknown>;

const header = (name: string) => ({ $ref: `#/components/headers/${name}` });

/** The OAuth endpoints' error shape (RFC 6749 §5.2). */
export const oauthErrorShape = z.object({
  error: doc(z.string(), "The RFC's error code; branch on it"),
  error_description: z.optional(doc(z.string(), "For people")),
});

/** One status of an OAuth endpoint's errors, `codes` as examples. */
export function oauthErrorResponse(status: number, codes: string[]): Json {
  const headers: Json = {};
  if (status === 429 || status === 503) headers["Retry-After"] = header("RetryAfter");
  if (status === 405) headers.Allow = header("Allow");
  if (status === 401) headers["WWW-Authenticate"] = { schema: { type: "string" } };
  return {
    description: codes.map((code) => `\`${code}\``).join(", "),
    ...(Object.keys(headers).length > 0 && { headers }),
    content: {
      "application/json": {
        schema: { $ref: "#/components/schemas/OAuthError" },
        examples: Object.fromEntries(codes.map((code) => [code, { value: { error: code, error_description: "…" } }])),
      },
    },
  };
}
