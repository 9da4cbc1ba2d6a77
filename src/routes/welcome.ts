import { Hono } from "hono";
import type { AppEnv } from "../env";
import { requireAuth } from "../middleware/require-auth";

/** The tutorial's protected route: GET in its repository, POST in its article. */
export const welcome = new Hono<AppEnv>().on(["GET", "POST"], "/welcome", requireAuth, (c) =>
  c.text("Welcome to FreeCodeCamp 🙌"),
);
