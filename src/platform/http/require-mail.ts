import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";

/** Routes that exist to send mail answer 503 `mail_unavailable` when `MAIL_TRANSPORT`
 * is `none`, rather than pretend to have sent something. */
export const requireMail: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (c.var.config.mail.transport === "none") throw new ApiError("mail_unavailable");
  await next();
};
