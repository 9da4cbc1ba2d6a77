import * as z from "zod/mini";
import { doc, named } from "../../platform/openapi/describe";

export const WELCOME = "Welcome to FreeCodeCamp 🙌";
export const ok = { status: 200, description: "Welcome", text: { "text/plain": WELCOME } } as const;

/** The POST /welcome body: read by require-auth, which takes the token from it. */
export const welcomeBody = named(
  "WelcomeBody",
  z.object({ token: doc(z.optional(z.string()), "An access token (the tutorial's transport)") }),
);
